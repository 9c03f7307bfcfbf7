"""Benchmark: publish a 1M-row, 10-column table to PostgreSQL against a bare binary COPY.

    python -m datatrendz_pipelines.publishing.bench_publish [--rows 1000000] [--repeat 3]

Creates a scratch database on DATATRENDZ_TEST_POSTGRES_URL (default the local server), drops it
at the end, and prints the median seconds and rows/s of:
- encode: Arrow -> binary COPY bytes in this process (no server);
- bare COPY: the pre-encoded bytes streamed into an existing plain table (the lower bound);
- write_row: psycopg's `copy.write_row` with `set_types`, the usual way to stream rows;
- publish_table: the full atomic publish (staging table, COPY, ANALYZE, swap, status).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.conninfo import make_conninfo

from datatrendz_pipelines.publishing.pgcopy import copy_plan, iter_copy_data, normalise
from datatrendz_pipelines.publishing.pgsql import create_table
from datatrendz_pipelines.publishing.postgres import publish_table

URL_VAR = "DATATRENDZ_TEST_POSTGRES_URL"


def order_lines(rows: int) -> pa.Table:
    """A KPI-sized fact table: ids, dates, text, a decimal, a nullable double, a timestamp."""
    rng = np.random.default_rng(7)
    start = np.datetime64("2024-01-01")
    return pa.table(
        {
            "order_line_id": pa.array(np.arange(rows, dtype=np.int64)),
            "order_date": pa.array(start + rng.integers(0, 730, rows).astype("timedelta64[D]")),
            "store_id": pa.array(rng.integers(1, 50, rows).astype(np.int32)),
            "product_sku": pa.array(np.char.add("SKU-", rng.integers(0, 5000, rows).astype(str))),
            "channel": pa.array(rng.choice(["pos", "web", "app"], rows)),
            "quantity": pa.array(rng.integers(1, 10, rows).astype(np.int32)),
            "unit_price": pa.array(np.round(rng.uniform(1, 500, rows), 2)).cast(
                pa.decimal128(12, 2)
            ),
            "discount": pa.array(rng.random(rows), mask=rng.random(rows) < 0.3),
            "is_return": pa.array(rng.random(rows) < 0.02),
            "loaded_at": pa.array(
                np.datetime64("2024-06-01T00:00:00", "us") + rng.integers(0, 10**12, rows)
            ),
        }
    )


def _median_seconds(run: Callable[[], None], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def scratch_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new database `<prefix>_<random>` with an empty `analytics` schema on admin_url's server;
    yields its URL and drops it (forcing out connections) when the block ends, even on error."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        try:
            url = make_conninfo(admin_url, dbname=name)
            with psycopg.connect(url) as pg:
                pg.execute("create schema analytics")
            yield url
        finally:
            admin.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    admin_url = os.environ.get(URL_VAR, "postgresql://postgres@127.0.0.1:5432/postgres")
    table = normalise(order_lines(args.rows))
    plan = copy_plan(table)
    with scratch_database(admin_url, "datatrendz_pub_bench") as url, psycopg.connect(url) as pg:
        results = _measure(pg, url, table, plan, args.repeat)
    size_mb = sum(len(c) for c in iter_copy_data(table, plan)) / 1e6
    print(f"{args.rows:,} rows x {table.num_columns} columns, {size_mb:.0f} MB of binary COPY data")
    bare = results["bare COPY (lower bound)"]
    for label, seconds in results.items():
        rate = args.rows / seconds
        print(f"{label:<28} {seconds:7.2f} s {rate:12,.0f} rows/s   x{seconds / bare:.2f} of bare")


def _measure(
    pg: psycopg.Connection, url: str, table: pa.Table, plan, repeat: int
) -> dict[str, float]:
    chunks = [bytes(c) for c in iter_copy_data(table, plan)]
    columns = sql.SQL(", ").join(map(sql.Identifier, plan.copy_columns))
    target = sql.Identifier("analytics", "bare")

    def fresh_table() -> None:
        pg.execute(sql.SQL("drop table if exists {}").format(target))
        create_table(pg, target, plan)
        pg.commit()

    def bare() -> None:
        with pg.cursor().copy(
            sql.SQL("copy {} ({}) from stdin (format binary)").format(target, columns)
        ) as copy:
            for chunk in chunks:
                copy.write(chunk)
        pg.commit()

    def write_row() -> None:
        names = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
        statement = sql.SQL("copy {} ({}) from stdin (format binary)").format(target, names)
        with pg.cursor().copy(statement) as copy:
            copy.set_types([c.pg_type.split("(")[0] for c in plan.columns])
            for batch in table.to_batches(max_chunksize=100_000):
                for row in zip(*(c.to_pylist() for c in batch.columns), strict=True):
                    copy.write_row(row)
        pg.commit()

    results = {
        "encode only (no server)": _median_seconds(
            lambda: [bytes(c) for c in iter_copy_data(table, plan)], repeat
        )
    }
    for label, run in (("bare COPY (lower bound)", bare), ("write_row + set_types", write_row)):
        times = []
        for _ in range(repeat):
            fresh_table()
            times.append(_median_seconds(run, 1))
        results[label] = statistics.median(times)
    results["publish_table"] = _median_seconds(
        lambda: publish_table(url, table, name="fct_order_lines", reader_role=None), repeat
    )
    results["publish_table + primary key"] = _median_seconds(
        lambda: publish_table(
            url, table, name="fct_order_lines", reader_role=None, primary_key=["order_line_id"]
        ),
        repeat,
    )
    return results


if __name__ == "__main__":
    main()
