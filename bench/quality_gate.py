"""Benchmark: the quality gate's contract rules on order lines, Great Expectations vs plain DuckDB.

    .venv/bin/python bench/quality_gate.py 1000000 10000000

For each size it builds `raw.order_lines`-shaped rows in DuckDB (with a few broken rows), then
times (a) the row-rule split in DuckDB SQL generated from the contract (what quarantines rows),
(b) the Great Expectations suite built from the same contract on the rows pulled through Arrow in
chunks of 1M (what the `order_lines_meets_contract` check runs), and prints both and the ratio.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Collection

import duckdb

from datatrendz_pipelines.contracts import Contract, load_contracts
from datatrendz_pipelines.quality.checks import GX_MAX_ROWS_PER_CHUNK
from datatrendz_pipelines.quality.gx_validation import frame_from_duckdb, validate_frame
from datatrendz_pipelines.quality.row_rules import judge_sql

CONTRACT = load_contracts()["order_lines"]


def build(conn: duckdb.DuckDBPyConnection, rows: int) -> None:
    conn.execute(f"""
        CREATE OR REPLACE TABLE _typed AS
        SELECT
            'O' || (i // 3)::VARCHAR AS order_id,
            (i % 3 + 1)::INTEGER AS line_number,
            CASE WHEN i % 100003 = 7 THEN NULL ELSE 'P' || (i % 2000)::VARCHAR END AS product_id,
            CASE WHEN i % 20 = 0 THEN 'return' ELSE 'sale' END AS line_type,
            (CASE WHEN i % 20 = 0 THEN -1 ELSE 1 + i % 4 END)::INTEGER AS quantity,
            (CASE WHEN i % 100019 = 11 THEN -5 ELSE 1 + (i % 9000) / 100 END)::DECIMAL(12,2) AS unit_price,
            ((i % 7) / 10)::DECIMAL(12,2) AS discount_amount,
            DATE '2025-01-01' + (i % 730)::INTEGER AS _partition_date,
            'order_lines/bench.csv' AS _source_file,
            i AS _source_row,
            now()::TIMESTAMP AS _loaded_at
        FROM range({rows}) t(i)
    """).fetchall()


def time_sql(
    conn: duckdb.DuckDBPyConnection,
    contract: Contract = CONTRACT,
    delivered_sources: Collection[str] = (),
) -> tuple[float, int]:
    """Seconds and quarantined rows of the contract's row rules over temp table `_typed`.
    Reference rules count only for `delivered_sources` (their raw tables must exist)."""
    sql, _ = judge_sql(contract, delivered_sources)
    started = time.perf_counter()
    (bad,) = conn.execute(f"SELECT count(*) FROM ({sql}) WHERE _rules <> ''").fetchall()[0]
    return time.perf_counter() - started, bad


def raw_gate_seconds(conn: duckdb.DuckDBPyConnection) -> float:
    """The plain-SQL quality gate over a loaded warehouse: every contract's row rules (references
    included) over all of raw.<source>, timed per source and summed (copying each raw table into
    `_typed` is not timed)."""
    contracts = load_contracts()
    present = {
        name
        for (name,) in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw'"
        ).fetchall()
    }
    total = 0.0
    for source, contract in contracts.items():
        if source not in present:
            continue
        columns = ", ".join(f'"{c}"' for c in contract.column_names)
        conn.execute(
            f"CREATE OR REPLACE TEMP TABLE _typed AS SELECT {columns}, _partition_date, "
            f'_source_file, _source_row FROM raw."{source}"'
        ).fetchall()
        seconds, _ = time_sql(conn, contract, present & set(contracts))
        total += seconds
    conn.execute("DROP TABLE IF EXISTS _typed").fetchall()
    return total


def time_gx(conn: duckdb.DuckDBPyConnection, rows: int) -> tuple[float, int]:
    started = time.perf_counter()
    failed = 0
    for offset in range(0, rows, GX_MAX_ROWS_PER_CHUNK):
        frame = frame_from_duckdb(
            conn,
            f"SELECT * FROM _typed WHERE _source_row >= {offset} "
            f"AND _source_row < {offset + GX_MAX_ROWS_PER_CHUNK}",
        )
        failed += validate_frame(CONTRACT, frame).failed
    return time.perf_counter() - started, failed


def main(sizes: list[int]) -> None:
    import great_expectations  # noqa: F401  (import cost is not part of the figures)

    print(
        f"{'rows':>12} {'duckdb_sql_s':>13} {'gx_s':>8} {'gx/sql':>8}  quarantined  gx_failed_expectations"
    )
    with duckdb.connect() as conn:
        for rows in sizes:
            build(conn, rows)
            time_gx(conn, min(rows, 10_000))  # warm GX's context once
            sql_s, bad = time_sql(conn)
            gx_s, failed = time_gx(conn, rows)
            print(
                f"{rows:>12,} {sql_s:>13.2f} {gx_s:>8.2f} {gx_s / sql_s:>8.1f}  {bad:>11,}  {failed}"
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000])
