"""DDL of the warehouse tables the ingestion owns: raw.<source>, quarantine.<source>, meta.raw_loads.

raw.<source> holds the contract's columns, typed, plus lineage columns. quarantine.<source> holds
rejected rows with every contract column as text, exactly as read, and why they were set aside.
"""

from __future__ import annotations

import duckdb

from datatrendz_pipelines.contracts import Contract

RAW_LINEAGE_COLUMNS = {
    "_partition_date": "DATE",
    "_source_file": "VARCHAR",
    "_source_row": "BIGINT",
    "_loaded_at": "TIMESTAMP",
}
QUARANTINE_COLUMNS = {
    "_partition_date": "DATE",
    "_source_file": "VARCHAR",
    "_source_row": "BIGINT",
    "_rule": "VARCHAR",
    "_reason": "VARCHAR",
    "_quarantined_at": "TIMESTAMP",
    "_run_id": "VARCHAR",
}
RAW_LOADS_COLUMNS = {
    "source": "VARCHAR",
    "partition_date": "DATE",
    "source_file": "VARCHAR",
    "file_format": "VARCHAR",
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_quarantined": "BIGINT",
    "loaded_at": "TIMESTAMP",
    "run_id": "VARCHAR",
}


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_columns(contract: Contract) -> dict[str, str]:
    return {c.name: c.type for c in contract.columns} | RAW_LINEAGE_COLUMNS


def quarantine_columns(contract: Contract) -> dict[str, str]:
    return dict.fromkeys(contract.column_names, "VARCHAR") | QUARANTINE_COLUMNS


def _ensure_table(
    conn: duckdb.DuckDBPyConnection, schema: str, table: str, columns: dict[str, str]
) -> None:
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    body = ", ".join(f"{ident(name)} {type_}" for name, type_ in columns.items())
    conn.execute(f"CREATE TABLE IF NOT EXISTS {schema}.{ident(table)} ({body})")
    existing = {
        row[0]
        for row in conn.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        ).fetchall()
    }
    # A contract that gained a column: old rows simply hold NULL in it.
    for name, type_ in columns.items():
        if name not in existing:
            conn.execute(f"ALTER TABLE {schema}.{ident(table)} ADD COLUMN {ident(name)} {type_}")


def ensure_tables(conn: duckdb.DuckDBPyConnection, contract: Contract) -> None:
    """Create (or extend) the raw, quarantine and load-log tables of one source."""
    _ensure_table(conn, "raw", contract.source, raw_columns(contract))
    _ensure_table(conn, "quarantine", contract.source, quarantine_columns(contract))
    _ensure_table(conn, "meta", "raw_loads", RAW_LOADS_COLUMNS)
