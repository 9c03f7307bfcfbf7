"""The BI role reads the analytics schema and nothing else (real PostgreSQL, own database)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pytest

from datatrendz_pipelines.publishing import setup as setup_cli
from datatrendz_pipelines.publishing.postgres import publish_table

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import make_conninfo  # noqa: E402

pytestmark = pytest.mark.postgres
POSTGRES_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
READER_PASSWORD = "s3cret-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Database:
    admin_url: str  # superuser, on the test database
    reader_url: str
    writer: str
    reader: str


@pytest.fixture(scope="module")
def database() -> Iterator[Database]:
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} (DATATRENDZ_TEST_POSTGRES_URL): {error}"
        )
    tag = uuid.uuid4().hex[:10]
    name, writer, reader = f"datatrendz_pub_test_{tag}", f"dt_w_{tag}", f"dt_r_{tag}"
    admin.execute(f'create database "{name}"')
    try:
        yield Database(
            make_conninfo(POSTGRES_URL, dbname=name),
            make_conninfo(POSTGRES_URL, dbname=name, user=reader, password=READER_PASSWORD),
            writer,
            reader,
        )
    finally:
        admin.execute(f'drop database if exists "{name}" with (force)')
        admin.execute(f'drop role if exists "{reader}"')
        admin.execute(f'drop role if exists "{writer}"')
        admin.close()


@pytest.fixture(scope="module")
def published(database: Database) -> Database:
    """Set up access twice through the CLI (idempotent), publish, add a private schema."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(setup_cli.ADMIN_URL_VAR, POSTGRES_URL)
        env.setenv(setup_cli.READER_PASSWORD_VAR, READER_PASSWORD)
        dbname = psycopg.conninfo.conninfo_to_dict(database.admin_url)["dbname"]
        args = ["--database", dbname, "--writer-role", database.writer]
        for _ in range(2):
            assert setup_cli.main([*args, "--reader-role", database.reader]) == 0
    table = pa.table({"store_id": [1, 2], "revenue": [10.5, 20.0]})
    # reader_role=None: only the default privileges let the reader in
    publish_table(
        database.admin_url, table, name="kpi_sales", role=database.writer, reader_role=None
    )
    with psycopg.connect(database.admin_url) as pg:
        pg.execute("create schema internal")
        pg.execute("create table internal.secrets as select 1 as id")
        pg.execute("create table public.also_private as select 1 as id")
    return database


def test_cli_never_prints_the_password(database: Database, capsys: pytest.CaptureFixture) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv(setup_cli.ADMIN_URL_VAR, POSTGRES_URL)
        env.setenv(setup_cli.READER_PASSWORD_VAR, READER_PASSWORD)
        dbname = psycopg.conninfo.conninfo_to_dict(database.admin_url)["dbname"]
        setup_cli.main(
            [
                "--database",
                dbname,
                "--writer-role",
                database.writer,
                "--reader-role",
                database.reader,
            ]
        )
    out = capsys.readouterr()
    assert READER_PASSWORD not in out.out + out.err
    assert database.reader in out.out


def test_cli_needs_the_admin_url(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.delenv(setup_cli.ADMIN_URL_VAR, raising=False)
    assert setup_cli.main(["--database", "x"]) == 2
    assert setup_cli.ADMIN_URL_VAR in capsys.readouterr().err


def test_reader_selects_from_analytics(published: Database) -> None:
    with psycopg.connect(published.reader_url) as pg:
        assert pg.execute("select sum(revenue) from analytics.kpi_sales").fetchone()[0] == 30.5
        assert pg.execute("select count(*) from analytics.publish_status").fetchone()[0] == 1


@pytest.mark.parametrize(
    "statement",
    [
        "insert into analytics.kpi_sales values (3, 1.0)",
        "update analytics.kpi_sales set revenue = 0",
        "delete from analytics.publish_status",
        "create table analytics.mine (id int)",
        "create table public.mine (id int)",
        "create temporary table mine (id int)",
        "create schema mine",
        "select * from internal.secrets",
        "select * from public.also_private",
        "drop table analytics.kpi_sales",
    ],
)
def test_reader_is_refused_everything_else(published: Database, statement: str) -> None:
    with (
        psycopg.connect(published.reader_url) as pg,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        pg.execute(statement)


def test_roles_have_no_powers(published: Database) -> None:
    with psycopg.connect(published.admin_url) as pg:
        rows = pg.execute(
            "select rolname, rolcanlogin, rolsuper or rolcreatedb or rolcreaterole or rolbypassrls"
            " from pg_roles where rolname = any(%s) order by rolname = %s",
            [[published.writer, published.reader], published.reader],
        ).fetchall()
        hashed = pg.execute(
            "select rolpassword like 'SCRAM-SHA-256$%%' from pg_authid where rolname = %s",
            [published.reader],
        ).fetchone()[0]
        owner = pg.execute(
            "select pg_get_userbyid(nspowner) from pg_namespace where nspname = 'analytics'"
        ).fetchone()[0]
    assert rows == [(published.writer, False, False), (published.reader, True, False)]
    assert owner == published.writer
    assert hashed is True  # the password reached the server hashed, never in clear
