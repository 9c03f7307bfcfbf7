"""`<schema>.publish_status`: one row per published table, written in the publishing transaction."""

from __future__ import annotations

import datetime as dt

import psycopg
from psycopg import sql

STATUS_TABLE = "publish_status"


def table_exists(pg: psycopg.Connection, schema: str, name: str) -> bool:
    """Whether `<schema>.<name>` is a table (visible to this transaction)."""
    found = pg.execute(
        "select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and c.relkind in ('r', 'p')",
        [schema, name],
    ).fetchone()
    return found is not None


def ensure_publish_status(pg: psycopg.Connection, schema: str = "analytics") -> None:
    """Create `<schema>.publish_status` if missing (the caller commits); no DDL when it exists.

    Columns: table_name (primary key), as_of_date (last business day the data covers),
    rows (rows written by the last publish), published_at (UTC), dagster_run_id.
    """
    if table_exists(pg, schema, STATUS_TABLE):
        return
    table = sql.Identifier(schema, STATUS_TABLE)
    pg.execute(
        sql.SQL(
            "create table if not exists {} ("
            " table_name text primary key,"
            " as_of_date date,"
            " rows bigint not null,"
            " published_at timestamptz not null,"
            " dagster_run_id text)"
        ).format(table)
    )
    pg.execute(
        sql.SQL("comment on table {} is {}").format(
            table, sql.Literal("Last successful publish of each table in this schema.")
        )
    )


def record_publish_status(
    pg: psycopg.Connection,
    *,
    schema: str = "analytics",
    table_name: str,
    rows: int,
    as_of_date: dt.date | None = None,
    dagster_run_id: str | None = None,
) -> None:
    """Upsert the status row of `table_name` in the caller's open transaction (no commit)."""
    pg.execute(
        sql.SQL(
            "insert into {} (table_name, as_of_date, rows, published_at, dagster_run_id)"
            " values (%s, %s, %s, clock_timestamp(), %s)"
            " on conflict (table_name) do update set as_of_date = excluded.as_of_date,"
            " rows = excluded.rows, published_at = excluded.published_at,"
            " dagster_run_id = excluded.dagster_run_id"
        ).format(sql.Identifier(schema, STATUS_TABLE)),
        [table_name, as_of_date, rows, dagster_run_id],
    )
