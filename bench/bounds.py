"""Plain lower bounds of the stages the benchmark times, on the data a build has just loaded.

- ingest: DuckDB's own readers straight into tables of a fresh DuckDB file, no typing, no rules;
- quality gate: the contracts' row rules as one SQL query per source (bench/quality_gate.py);
- dbt: the models' compiled SQL run straight in DuckDB, full and one day (bench/warehouse.py);
- publish: the published tables read from DuckDB as Arrow and sent with a bare binary COPY into
  plain tables (no staging table, swap, index, comments or status), and DuckDB's own
  `COPY ... TO (FORMAT parquet, PARTITION_BY ...)` of each into the lake's layout.
"""

from __future__ import annotations

import csv
import shutil
import time
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

from bench.quality_gate import raw_gate_seconds
from datatrendz_pipelines.publishing.pgcopy import copy_plan, normalise
from datatrendz_pipelines.publishing.pgsql import copy_into, create_table

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}
BOUND_SCHEMA = "bench_bound"


def _reader(fmt: str, header: tuple[str, ...]) -> str:
    """DuckDB's reader over $files, told the columns as the loader is (no sniffing per file)."""
    if fmt == "csv":
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header) + "}"
        return f"read_csv($files, header = true, auto_detect = false, columns = {columns})"
    if fmt == "parquet":
        return "read_parquet($files, union_by_name = true)"
    return "read_json($files, format = 'newline_delimited')"


def _header(path: Path, fmt: str) -> tuple[str, ...]:
    if fmt != "csv":
        return ()
    with path.open(newline="") as handle:
        return tuple(next(csv.reader(handle), []))


def ingest_bound(files_dir: Path, work: Path, threads: int = 2) -> float:
    """Seconds to read every file under `files_dir/<source>/date=*/` into one table per source,
    format and header, as text, in a new DuckDB file (`threads` worker threads)."""
    groups: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for path in sorted(files_dir.glob("*/date=*/*")):
        fmt = SUFFIXES.get(path.suffix)
        if fmt:
            key = (path.parent.parent.name, fmt, _header(path, fmt))
            groups.setdefault(key, []).append(str(path))
    target = work / "ingest_bound.duckdb"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    with duckdb.connect(str(target), config={"threads": threads}) as conn:
        for index, ((source, fmt, header), files) in enumerate(sorted(groups.items())):
            conn.execute(
                f'CREATE TABLE "{source}_{index}" AS SELECT * FROM {_reader(fmt, header)}',
                {"files": files},
            ).fetchall()
    seconds = time.perf_counter() - started
    target.unlink(missing_ok=True)
    return seconds


def gate_bound(warehouse: Path, work: Path) -> float:
    """Seconds of the plain-SQL quality gate over a copy of the loaded warehouse's raw tables."""
    copy = work / "gate_bound.duckdb"
    shutil.copy(warehouse, copy)
    try:
        with duckdb.connect(str(copy)) as conn:
            return raw_gate_seconds(conn)
    finally:
        copy.unlink(missing_ok=True)


def published_tables(url: str, schema: str = "analytics") -> list[str]:
    """The tables a build published to PostgreSQL (the status table aside)."""
    with psycopg.connect(url) as pg:
        rows = pg.execute(
            "select table_name from information_schema.tables "
            "where table_schema = %s and table_type = 'BASE TABLE' and table_name <> 'publish_status'",
            [schema],
        ).fetchall()
    return sorted(name for (name,) in rows)


def publish_bound(warehouse: Path, url: str, tables: list[str], work: Path) -> float:
    """Seconds to read `tables` from the warehouse (schema kpi or ml) as Arrow and COPY them in
    binary into new plain tables of a scratch schema (dropped afterwards), plus DuckDB's own
    export of each to Parquet under `work`, in daily hive partitions when its first column is a
    date (as the lake has them), else one file."""
    lake = work / "lake_bound"
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        where = {
            name: schema
            for schema, name in conn.execute(
                "SELECT schema_name, table_name FROM duckdb_tables()"
            ).fetchall()
            if schema in ("kpi", "ml")
        }
        present = [t for t in tables if t in where]
        exports = {name: _lake_export(conn, where[name], name, lake) for name in present}
        with psycopg.connect(url) as pg:
            schema = sql.Identifier(BOUND_SCHEMA)
            pg.execute(sql.SQL("drop schema if exists {} cascade").format(schema))
            pg.execute(sql.SQL("create schema {}").format(schema))
            pg.commit()
            started = time.perf_counter()
            for name in present:
                table = normalise(
                    conn.sql(f'SELECT * FROM "{where[name]}"."{name}"').to_arrow_table()
                )
                plan = copy_plan(table)
                target = sql.Identifier(BOUND_SCHEMA, name)
                create_table(pg, target, plan)
                copy_into(pg, target, table, plan, freeze=False)
                pg.commit()
                conn.execute(exports[name]).fetchall()
            seconds = time.perf_counter() - started
            pg.execute(sql.SQL("drop schema {} cascade").format(schema))
            pg.commit()
    shutil.rmtree(lake, ignore_errors=True)
    return seconds


def _lake_export(conn: duckdb.DuckDBPyConnection, schema: str, name: str, lake: Path) -> str:
    """The COPY statement writing `schema.name` to `lake/name` as the publish lays it out."""
    [(first_name, first_type)] = conn.execute(
        "SELECT column_name, data_type FROM duckdb_columns()"
        " WHERE schema_name = ? AND table_name = ? ORDER BY column_index LIMIT 1",
        [schema, name],
    ).fetchall()
    source = f'"{schema}"."{name}"'
    if first_type != "DATE":
        (lake / name).mkdir()
        return f"COPY {source} TO '{lake / name / 'data.parquet'}' (FORMAT parquet)"
    select = f'SELECT *, "{first_name}" AS date FROM {source}'
    if first_name == "date":
        select = f"SELECT * FROM {source}"
    return f"COPY ({select}) TO '{lake / name}' (FORMAT parquet, PARTITION_BY (date))"
