"""Small SQL steps shared by the publishers; every name goes through `psycopg.sql.Identifier`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pyarrow as pa
from psycopg import sql

from datatrendz_pipelines.publishing.comments import TableComments
from datatrendz_pipelines.publishing.pgcopy import CopyPlan, iter_copy_data

# format_type() spells some types differently from the names the plan uses.
_CANONICAL = {
    "timestamp": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "time": "time without time zone",
}


@contextmanager
def open_connection(conninfo: str, role: str | None) -> Iterator[psycopg.Connection]:
    """A connection (not autocommit) that has run `SET ROLE role` when a role is given."""
    with psycopg.connect(conninfo, application_name="datatrendz-publish") as pg:
        if role:
            pg.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        pg.commit()
        yield pg


def create_table(pg: psycopg.Connection, target: sql.Identifier, plan: CopyPlan) -> None:
    columns = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.pg_type)) for c in plan.columns
    )
    pg.execute(sql.SQL("create table {} ({})").format(target, columns))


def copy_into(
    pg: psycopg.Connection, target: sql.Identifier, table: pa.Table, plan: CopyPlan, freeze: bool
) -> int:
    """COPY the rows of `table` (normalised) into `target` in binary; returns the bytes sent.

    `freeze=True` (only for a table created in this transaction) writes the rows frozen, which
    saves the hint-bit rewrite and vacuum freeze that a freshly loaded table would otherwise need.
    """
    statement = sql.SQL("copy {} ({}) from stdin (format binary{})").format(
        target,
        sql.SQL(", ").join(map(sql.Identifier, plan.copy_columns)),
        sql.SQL(", freeze") if freeze else sql.SQL(""),
    )
    sent = 0
    with pg.cursor() as cursor, cursor.copy(statement) as copy:
        for chunk in iter_copy_data(table, plan):
            copy.write(chunk)
            sent += len(chunk)
    return sent


def apply_comments(
    pg: psycopg.Connection, schema: str, name: str, comments: TableComments | None
) -> None:
    """COMMENT ON the table and on those described columns that the table has."""
    if comments is None:
        return
    target = sql.Identifier(schema, name)
    pg.execute(sql.SQL("comment on table {} is {}").format(target, sql.Literal(comments.table)))
    have = {
        row[0]
        for row in pg.execute(
            "select attname from pg_attribute where attrelid = %s::regclass"
            " and attnum > 0 and not attisdropped",
            [target.as_string(pg)],
        )
    }
    for column, text in comments.columns.items():
        if column in have:
            pg.execute(
                sql.SQL("comment on column {} is {}").format(
                    sql.Identifier(schema, name, column), sql.Literal(text)
                )
            )


def grant_reader(pg: psycopg.Connection, target: sql.Identifier, reader_role: str | None) -> None:
    """GRANT SELECT on `target` to `reader_role` if that role exists."""
    if not reader_role:
        return
    if pg.execute("select 1 from pg_roles where rolname = %s", [reader_role]).fetchone():
        pg.execute(sql.SQL("grant select on {} to {}").format(target, sql.Identifier(reader_role)))


def take_lock(
    pg: psycopg.Connection, target: sql.Identifier, timeout_s: float, attempts: int
) -> None:
    """ACCESS EXCLUSIVE lock on `target`, waiting at most `timeout_s` per attempt.

    While this waits, new readers queue behind it; giving up after `timeout_s` (and retrying
    after a pause, inside a savepoint so the loaded data survives) lets them through when a
    long query holds the table.
    """
    pg.execute("select set_config('lock_timeout', %s, true)", [f"{int(timeout_s * 1000)}ms"])
    for attempt in range(1, attempts + 1):
        try:
            with pg.transaction():
                pg.execute(sql.SQL("lock table {} in access exclusive mode").format(target))
            break
        except psycopg.errors.LockNotAvailable:
            if attempt == attempts:
                raise
            time.sleep(min(0.5 * attempt, 5.0))
    pg.execute("select set_config('lock_timeout', '0', true)")


def check_columns(pg: psycopg.Connection, schema: str, name: str, plan: CopyPlan) -> None:
    """Raise ValueError when `<schema>.<name>` does not have the plan's columns and types."""
    rows = pg.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped",
        [schema, name],
    ).fetchall()
    existing = dict(rows)
    wanted = {c.name: _CANONICAL.get(c.pg_type, c.pg_type) for c in plan.columns}
    if existing != wanted:
        differ = sorted(
            f"{col}: table {existing.get(col)} vs data {wanted.get(col)}"
            for col in set(existing) | set(wanted)
            if existing.get(col) != wanted.get(col)
        )
        raise ValueError(f"{schema}.{name} does not match the data: {'; '.join(differ)}")
