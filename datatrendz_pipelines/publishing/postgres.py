"""Publish Arrow tables to PostgreSQL: atomic replace of whole tables, or of some days of one.

Rows travel as binary COPY built from Arrow by `pgcopy` (no pandas, no INSERTs). Everything a
publish does runs in ONE transaction, so a failure at any point leaves the previous table as it
was and no staging table behind. Readers see the old table or the new one, never a mix: the new
table is built and loaded under a staging name without touching the old one, and the ACCESS
EXCLUSIVE lock on the old table is taken only for the final drop + rename + status upsert, just
before the commit; readers that arrive meanwhile queue for those milliseconds and then read the
new table (PostgreSQL looks the name up again after the wait).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

import pyarrow as pa
from psycopg import sql

from datatrendz_pipelines.publishing.comments import TableComments
from datatrendz_pipelines.publishing.pgcopy import copy_plan, normalise
from datatrendz_pipelines.publishing.pgsql import (
    apply_comments,
    check_columns,
    copy_into,
    create_table,
    grant_reader,
    open_connection,
    take_lock,
)
from datatrendz_pipelines.publishing.status import (
    ensure_publish_status,
    record_publish_status,
    table_exists,
)

STAGING_MARK = "__new_"
# publish_partitions of more days than this rebuilds the table instead of deleting them.
REBUILD_AFTER_DAYS = 31
MAX_NAME = 63 - len(STAGING_MARK) - 8


class PublishAborted(RuntimeError):
    """Raised by `publish_table(..., fail_after_load=True)` between the load and the swap."""


@dataclass(frozen=True)
class PublishResult:
    rows: int  # rows written by this publish
    bytes: int  # bytes of binary COPY data sent
    seconds: float  # wall time, connect to commit
    table_bytes: int = 0  # size of the published table on disk (pg_total_relation_size)


def publish_table(
    pg_conninfo: str,
    table: pa.Table,
    *,
    schema: str = "analytics",
    name: str,
    comments: TableComments | None = None,
    primary_key: list[str] | None = None,
    index_columns: list[str] | None = None,
    keep_other_days: tuple[str, Collection[dt.date]] | None = None,
    reader_role: str | None = "datatrendz_bi",
    role: str | None = None,
    as_of_date: dt.date | None = None,
    dagster_run_id: str | None = None,
    lock_timeout_s: float = 2.0,
    lock_attempts: int = 10,
    fail_after_load: bool = False,
) -> PublishResult:
    """Replace `<schema>.<name>` by the rows of `table`, atomically.

    Builds `<name>__new_<8 hex>` (column types from Arrow), COPYs the rows, adds the primary
    key and an index on each of `index_columns` (after the load: 3x faster than loading into
    an indexed table), ANALYZEs it, comments it and grants SELECT to `reader_role` (when that role exists), then
    locks the old table (waiting at most `lock_timeout_s` per attempt for long readers to finish,
    `lock_attempts` times), drops it, renames the new one and upserts `publish_status`; one commit.
    `keep_other_days=(date_column, days)`: the new table also gets the old table's rows of
    every other day (`publish_partitions` over a long range).
    `role`: `SET ROLE` first so the table is owned by the writer role. The schema must exist
    (`setup_access`). `fail_after_load=True` raises PublishAborted before the swap (tests).
    """
    if len(name.encode()) > MAX_NAME:
        raise ValueError(f"table name {name!r} is longer than {MAX_NAME} bytes")
    table = normalise(table)
    plan = copy_plan(table)
    missing = sorted(set(primary_key or []) - set(table.column_names))
    if missing:
        raise ValueError(f"primary key columns {missing} are not columns of {name!r}")
    missing = sorted(set(index_columns or []) - set(table.column_names))
    if missing:
        raise ValueError(f"index columns {missing} are not columns of {name!r}")
    started = time.perf_counter()
    suffix = uuid.uuid4().hex[:8]
    staging = f"{name}{STAGING_MARK}{suffix}"
    target, new = sql.Identifier(schema, name), sql.Identifier(schema, staging)
    with open_connection(pg_conninfo, role) as pg:
        ensure_publish_status(pg, schema)
        pg.commit()
        with pg.transaction():
            create_table(pg, new, plan)
            kept = 0
            if keep_other_days and table_exists(pg, schema, name):
                # Hold off other publishers of this table from reading its rows to the swap.
                pg.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"{schema}.{name}"])
                check_columns(pg, schema, name, plan)
                column, replaced = keep_other_days
                columns = sql.SQL(", ").join(map(sql.Identifier, plan.copy_columns))
                kept = pg.execute(
                    sql.SQL("insert into {} ({}) select {} from {} where {} <> all(%s)").format(
                        new, columns, columns, target, sql.Identifier(column)
                    ),
                    [sorted(replaced)],
                ).rowcount
            sent = copy_into(pg, new, table, plan, freeze=not kept)
            if primary_key:
                pg.execute(
                    sql.SQL("alter table {} add constraint {} primary key ({})").format(
                        new,
                        sql.Identifier(f"publish_{suffix}_pkey"),
                        sql.SQL(", ").join(map(sql.Identifier, primary_key)),
                    )
                )
            for column in index_columns or []:
                pg.execute(
                    sql.SQL("create index {} on {} ({})").format(
                        sql.Identifier(f"publish_{suffix}_{column}_idx"),
                        new,
                        sql.Identifier(column),
                    )
                )
            pg.execute(sql.SQL("analyze {}").format(new))
            apply_comments(pg, schema, staging, comments)
            grant_reader(pg, new, reader_role)
            if fail_after_load:
                raise PublishAborted(f"fail_after_load=True: {staging} loaded, swap skipped")
            # The swap: serialise publishers of this table, then lock the old table briefly.
            pg.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"{schema}.{name}"])
            if table_exists(pg, schema, name):
                take_lock(pg, target, lock_timeout_s, lock_attempts)
                pg.execute(sql.SQL("drop table {}").format(target))
            pg.execute(sql.SQL("alter table {} rename to {}").format(new, sql.Identifier(name)))
            if primary_key:
                pg.execute(
                    sql.SQL("alter table {} rename constraint {} to {}").format(
                        target,
                        sql.Identifier(f"publish_{suffix}_pkey"),
                        sql.Identifier(f"{name}_pkey"),
                    )
                )
            for column in index_columns or []:
                pg.execute(
                    sql.SQL("alter index {} rename to {}").format(
                        sql.Identifier(schema, f"publish_{suffix}_{column}_idx"),
                        sql.Identifier(_index_name(name, column)),
                    )
                )
            record_publish_status(
                pg,
                schema=schema,
                table_name=name,
                rows=table.num_rows,
                as_of_date=as_of_date,
                dagster_run_id=dagster_run_id,
            )
            size = pg.execute(
                "select pg_total_relation_size(%s::regclass)", [target.as_string(pg)]
            ).fetchone()
            table_bytes = int(size[0]) if size else 0
    return PublishResult(table.num_rows, sent, time.perf_counter() - started, table_bytes)


def publish_partitions(
    pg_conninfo: str,
    table: pa.Table,
    *,
    schema: str = "analytics",
    name: str,
    date_column: str,
    days: Collection[dt.date] | None = None,
    comments: TableComments | None = None,
    reader_role: str | None = "datatrendz_bi",
    role: str | None = None,
    as_of_date: dt.date | None = None,
    dagster_run_id: str | None = None,
) -> PublishResult:
    """Replace the rows of `days` (default: the days in `table`) of a large daily table.

    In one transaction: check the columns of `<schema>.<name>` match, delete those days, COPY
    the new rows, upsert `publish_status`. A table that does not exist yet (the first publish,
    usually of all history), or a range of more than REBUILD_AFTER_DAYS days, is built anew as
    `publish_table` builds one (with the other days' rows and an index on `date_column`) and
    swapped in: deleting and re-inserting two years through the index took 13-15 s for 3.9M rows,
    the new table 7 s.
    Readers see the days before or after (MVCC), never without them. Every row of `table` must
    fall on one of `days`, or the next publish of its day would duplicate it.
    """
    table = normalise(table)
    if date_column not in table.column_names or not pa.types.is_date32(
        table.schema.field(date_column).type
    ):
        raise ValueError(f"{date_column!r} must be a date column of {name!r}")
    dates = table.column(date_column)
    if dates.null_count:
        raise ValueError(f"{date_column!r} has {dates.null_count} null dates")
    present = set(dates.unique().to_pylist())
    days = sorted(present if days is None else set(days))
    if present - set(days):
        raise ValueError(f"rows for days {sorted(present - set(days))} not in days={days}")
    plan = copy_plan(table)
    started = time.perf_counter()
    target = sql.Identifier(schema, name)
    with open_connection(pg_conninfo, role) as pg:
        ensure_publish_status(pg, schema)
        pg.commit()
        if not table_exists(pg, schema, name) or len(days) > REBUILD_AFTER_DAYS:
            return publish_table(
                pg_conninfo,
                table,
                schema=schema,
                name=name,
                comments=comments,
                index_columns=[date_column],
                keep_other_days=(date_column, days),
                reader_role=reader_role,
                role=role,
                as_of_date=as_of_date or (max(days) if days else None),
                dagster_run_id=dagster_run_id,
            )
        with pg.transaction():
            pg.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"{schema}.{name}"])
            check_columns(pg, schema, name, plan)
            grant_reader(pg, target, reader_role)
            apply_comments(pg, schema, name, comments)
            pg.execute(
                sql.SQL("delete from {} where {} = any(%s)").format(
                    target, sql.Identifier(date_column)
                ),
                [days],
            )
            sent = copy_into(pg, target, table, plan, freeze=False)
            record_publish_status(
                pg,
                schema=schema,
                table_name=name,
                rows=table.num_rows,
                as_of_date=as_of_date or (max(days) if days else None),
                dagster_run_id=dagster_run_id,
            )
    return PublishResult(table.num_rows, sent, time.perf_counter() - started)


def _index_name(table: str, column: str) -> str:
    """PostgreSQL's own name for `create index on <table> (<column>)`, within 63 bytes."""
    return f"{table}_{column}_idx"[:63]
