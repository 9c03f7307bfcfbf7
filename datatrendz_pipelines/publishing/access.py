"""Roles and privileges of the PostgreSQL `analytics` schema: a writer owns it, BI only reads it."""

from __future__ import annotations

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from datatrendz_pipelines.publishing.status import ensure_publish_status


def setup_access(
    admin_conninfo: str,
    *,
    database: str,
    schema: str = "analytics",
    writer_role: str = "datatrendz_writer",
    reader_role: str = "datatrendz_bi",
    reader_password: str | None = None,
    writer_password: str | None = None,
) -> None:
    """Idempotently set up `schema` in `database` for publishing (one transaction).

    - `writer_role` (NOLOGIN unless `writer_password` is given; publishers `SET ROLE` to it or log
      in as it) owns the schema and `publish_status`.
    - `reader_role` can LOG IN (with `reader_password` if given), CONNECT, USAGE the schema and
      SELECT its tables, today's and future ones (default privileges of the writer) - nothing
      else: no superuser/createdb/createrole, no membership in the writer.
    - For `database`: PUBLIC loses CREATE and TEMPORARY on the database and CREATE on schema
      public, and every privilege on `schema`. CONNECT for PUBLIC is left as the server has it.
    Passwords are sent to the server already SCRAM-hashed (never in clear in logs).
    `admin_conninfo` is a superuser (or CREATEROLE + database owner) connection string; its
    database name is replaced by `database`.
    """
    info = conninfo_to_dict(admin_conninfo)
    info["dbname"] = database
    writer, reader = sql.Identifier(writer_role), sql.Identifier(reader_role)
    with psycopg.connect(**info) as pg:
        _ensure_role(
            pg, writer_role, login=writer_password is not None or None, password=writer_password
        )
        _ensure_role(pg, reader_role, login=True, password=reader_password)
        pg.execute(sql.SQL("revoke {} from {}").format(writer, reader))
        db = sql.Identifier(database)
        pg.execute(sql.SQL("revoke create, temporary on database {} from public").format(db))
        pg.execute(sql.SQL("grant connect on database {} to {}, {}").format(db, writer, reader))
        pg.execute("revoke create on schema public from public")
        target = sql.Identifier(schema)
        pg.execute(
            sql.SQL("create schema if not exists {} authorization {}").format(target, writer)
        )
        pg.execute(sql.SQL("alter schema {} owner to {}").format(target, writer))
        pg.execute(sql.SQL("revoke all on schema {} from public").format(target))
        pg.execute(sql.SQL("grant usage on schema {} to {}").format(target, reader))
        pg.execute(sql.SQL("grant select on all tables in schema {} to {}").format(target, reader))
        pg.execute(
            sql.SQL(
                "alter default privileges for role {} in schema {} grant select on tables to {}"
            ).format(writer, target, reader)
        )
        pg.execute(sql.SQL("set local role {}").format(writer))
        ensure_publish_status(pg, schema)  # owned by the writer
        pg.execute(
            sql.SQL("grant select on {} to {}").format(
                sql.Identifier(schema, "publish_status"), reader
            )
        )


def _ensure_role(
    pg: psycopg.Connection, role: str, *, login: bool | None, password: str | None
) -> None:
    """Create or alter `role` without powers; `login=None` keeps an existing role's LOGIN."""
    exists = pg.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
    keep_login = login is None and exists
    options = [
        *([] if keep_login else ["login" if login else "nologin"]),
        "nosuperuser",
        "nocreatedb",
        "nocreaterole",
        "noreplication",
        "nobypassrls",
    ]
    statement = sql.SQL("{} role {} with {}").format(
        sql.SQL("alter" if exists else "create"), sql.Identifier(role), sql.SQL(" ".join(options))
    )
    if password is not None:
        hashed = pg.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
        statement = sql.SQL("{} password {}").format(statement, sql.Literal(hashed.decode()))
    pg.execute(statement)
