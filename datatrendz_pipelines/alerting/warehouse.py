"""Small warehouse helpers shared by the rules."""

from __future__ import annotations

import duckdb


def split_table(name: str) -> tuple[str, str]:
    """`schema.table` -> (schema, table); a bare name is in `main`."""
    schema, _, table = name.rpartition(".")
    return (schema or "main", table)


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = split_table(name)
    row = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def table_columns(conn: duckdb.DuckDBPyConnection, name: str) -> set[str]:
    schema, table = split_table(name)
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def quoted(name: str) -> str:
    """`schema.table` as a quoted identifier."""
    return ".".join('"' + part.replace('"', '""') + '"' for part in split_table(name))
