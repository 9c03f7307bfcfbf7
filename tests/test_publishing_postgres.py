"""Publishing to a real PostgreSQL: atomic replace, concurrent readers, comments, status, days.

The module creates its own database (and writer / reader roles with random names) on
DATATRENDZ_TEST_POSTGRES_URL and drops them afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from datatrendz_pipelines.publishing.access import setup_access
from datatrendz_pipelines.publishing.comments import TableComments
from datatrendz_pipelines.publishing.postgres import (
    PublishAborted,
    publish_partitions,
    publish_table,
)

psycopg = pytest.importorskip("psycopg")
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402

pytestmark = pytest.mark.postgres
POSTGRES_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@dataclass(frozen=True)
class Target:
    url: str
    writer: str
    reader: str

    def publish(self, table: pa.Table, **kwargs) -> object:
        return publish_table(self.url, table, role=self.writer, reader_role=self.reader, **kwargs)

    def scalar(self, query: str, params: list | None = None) -> object:
        with psycopg.connect(self.url) as pg:
            row = pg.execute(query, params).fetchone()
        return row[0] if row else None


@pytest.fixture(scope="module")
def target() -> Iterator[Target]:
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} (DATATRENDZ_TEST_POSTGRES_URL): {error}"
        )
    tag = uuid.uuid4().hex[:10]
    database, writer, reader = f"datatrendz_pub_test_{tag}", f"dt_w_{tag}", f"dt_r_{tag}"
    admin.execute(f'create database "{database}"')
    try:
        setup_access(POSTGRES_URL, database=database, writer_role=writer, reader_role=reader)
        yield Target(make_conninfo(POSTGRES_URL, dbname=database), writer, reader)
    finally:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.execute(f'drop role if exists "{reader}"')
        admin.execute(f'drop role if exists "{writer}"')
        admin.close()


def order_lines(rows: int, seed: int = 0) -> pa.Table:
    """An order-lines-like table of 10 columns with nulls, unicode, decimals and timestamps."""
    rng = np.random.default_rng(seed)
    day = np.datetime64("2024-01-01") + rng.integers(0, 30, rows).astype("timedelta64[D]")
    loaded = np.datetime64("2024-02-01T00:00:00", "us") + rng.integers(0, 10**12, rows)
    return pa.table(
        {
            "order_line_id": pa.array(np.arange(rows, dtype=np.int64) + seed * 10**9),
            "order_date": pa.array(day),
            "store_id": pa.array(rng.integers(1, 20, rows).astype(np.int32)),
            "product_name": pa.array(rng.choice(["Café crème", "Tee 'L'", "Zoë|1", ""], rows)),
            "channel": pa.array(np.where(rng.random(rows) < 0.1, None, "web"), pa.string()),
            "quantity": pa.array(rng.integers(-2, 10, rows).astype(np.int16)),
            "unit_price": pa.array(
                [Decimal(int(c)) / 100 for c in rng.integers(-5_000, 500_000, rows)],
                pa.decimal128(12, 2),
            ),
            "discount": pa.array(rng.random(rows), mask=rng.random(rows) < 0.3),
            "is_return": pa.array(rng.random(rows) < 0.05),
            "loaded_at": pa.array(loaded),
        }
    )


ROW_TEXT = """
select md5(coalesce(string_agg(concat_ws('|', order_line_id, order_date, store_id, product_name,
       coalesce(channel, '\\N'), quantity, unit_price, coalesce(discount::text, '\\N'), is_return,
       to_char(loaded_at, 'YYYY-MM-DD HH24:MI:SS.US')), E'\\n' order by order_line_id), ''))
from analytics.{}
"""


def python_checksum(table: pa.Table) -> str:
    """md5 of the rows formatted the way PostgreSQL prints them in ROW_TEXT."""

    def text(value: object) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, float):
            return "NaN" if value != value else repr(value).removesuffix(".0")
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=" ", timespec="microseconds")
        return str(value)

    rows = sorted(table.to_pylist(), key=lambda r: r["order_line_id"])
    lines = ["|".join(text(v) for v in row.values()) for row in rows]
    return hashlib.md5("\n".join(lines).encode()).hexdigest()


def test_published_rows_equal_the_source(target: Target) -> None:
    table = order_lines(20_000, seed=1)
    result = target.publish(table, name="fct_lines_copy", primary_key=["order_line_id"])
    assert result.rows == 20_000 and result.bytes > 0 and result.table_bytes > 0
    assert target.scalar("select count(*) from analytics.fct_lines_copy") == 20_000
    assert target.scalar(ROW_TEXT.format("fct_lines_copy")) == python_checksum(table)
    assert target.scalar("select count(*) from analytics.fct_lines_copy where discount is null") > 0
    # PostgreSQL gets the mapped types, and the primary key keeps the table's name.
    types = target.scalar(
        "select string_agg(format_type(atttypid, atttypmod), ',' order by attnum)"
        " from pg_attribute where attrelid = 'analytics.fct_lines_copy'::regclass and attnum > 0"
    )
    assert types == (
        "bigint,date,integer,text,text,smallint,numeric(12,2),double precision,boolean,"
        "timestamp without time zone"
    )
    assert (
        target.scalar(
            "select conname from pg_constraint where conrelid = 'analytics.fct_lines_copy'::regclass"
        )
        == "fct_lines_copy_pkey"
    )


def test_concurrent_reader_sees_old_or_new_table_only(target: Target) -> None:
    small, large = order_lines(50_000, seed=2), order_lines(60_000, seed=3)
    target.publish(small, name="kpi_swapped")
    counts: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        with psycopg.connect(target.url, autocommit=True) as pg:
            while not stop.is_set():
                try:
                    counts.append(
                        pg.execute("select count(*) from analytics.kpi_swapped").fetchone()[0]
                    )
                except Exception as error:
                    errors.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(20):
            target.publish(
                large if i % 2 == 0 else small, name="kpi_swapped", primary_key=["order_line_id"]
            )
    finally:
        stop.set()
        reader.join(timeout=30)
    assert errors == []
    assert set(counts) == {50_000, 60_000}
    assert len(counts) > 20


def test_failure_after_load_keeps_the_previous_table(target: Target) -> None:
    target.publish(order_lines(1_000, seed=4), name="kpi_kept", as_of_date=dt.date(2024, 1, 5))
    with pytest.raises(PublishAborted):
        target.publish(order_lines(2_000, seed=5), name="kpi_kept", fail_after_load=True)
    assert target.scalar("select count(*) from analytics.kpi_kept") == 1_000
    assert (
        target.scalar("select count(*) from pg_class where relname like %s", ["%\\_\\_new\\_%"])
        == 0
    )
    assert (
        target.scalar("select rows from analytics.publish_status where table_name = 'kpi_kept'")
        == 1_000
    )


def test_duplicate_primary_key_fails_and_keeps_the_previous_table(target: Target) -> None:
    target.publish(order_lines(100, seed=6), name="kpi_keyed", primary_key=["order_line_id"])
    doubled = pa.concat_tables([order_lines(10, seed=7)] * 2)
    with pytest.raises(psycopg.errors.UniqueViolation):
        target.publish(doubled, name="kpi_keyed", primary_key=["order_line_id"])
    assert target.scalar("select count(*) from analytics.kpi_keyed") == 100


def test_comments_and_status_land_with_the_table(target: Target) -> None:
    comments = TableComments(
        "Daily sales per store.", {"store_id": "Store key.", "not_a_column": "ignored"}
    )
    target.publish(
        order_lines(10),
        name="kpi_described",
        comments=comments,
        as_of_date=dt.date(2024, 1, 30),
        dagster_run_id="run-123",
    )
    assert target.scalar("select obj_description('analytics.kpi_described'::regclass)") == (
        "Daily sales per store."
    )
    assert (
        target.scalar(
            "select col_description('analytics.kpi_described'::regclass, attnum) from pg_attribute"
            " where attrelid = 'analytics.kpi_described'::regclass and attname = 'store_id'"
        )
        == "Store key."
    )
    with psycopg.connect(target.url) as pg:
        status = pg.execute(
            "select as_of_date, rows, dagster_run_id, published_at > now() - interval '1 minute'"
            " from analytics.publish_status where table_name = 'kpi_described'"
        ).fetchone()
    assert status == (dt.date(2024, 1, 30), 10, "run-123", True)


def test_publish_partitions_replaces_only_the_given_days(target: Target) -> None:
    def day_rows(day: int, rows: int, seed: int) -> pa.Table:
        table = order_lines(rows, seed=seed)
        days = pa.array([dt.date(2024, 3, day)] * rows, pa.date32())
        return table.set_column(1, "order_date", days)

    kwargs = {"name": "fct_daily", "date_column": "order_date", "role": target.writer}
    first = pa.concat_tables([day_rows(1, 10, 8), day_rows(2, 20, 9), day_rows(3, 30, 10)])
    publish_partitions(target.url, first, reader_role=target.reader, **kwargs)
    publish_partitions(target.url, day_rows(2, 5, 11), reader_role=target.reader, **kwargs)
    per_day = "select count(*) from analytics.fct_daily where order_date = %s"
    counts = [target.scalar(per_day, [dt.date(2024, 3, d)]) for d in (1, 2, 3)]
    assert counts == [10, 5, 30]
    # an empty table with days given clears those days
    publish_partitions(target.url, day_rows(3, 0, 12), days=[dt.date(2024, 3, 3)], **kwargs)
    assert target.scalar(per_day, [dt.date(2024, 3, 3)]) == 0
    with pytest.raises(ValueError, match="not in days"):
        publish_partitions(target.url, day_rows(4, 1, 13), days=[dt.date(2024, 3, 5)], **kwargs)
    with pytest.raises(ValueError, match="does not match"):
        publish_partitions(target.url, day_rows(4, 1, 14).drop_columns(["channel"]), **kwargs)
    assert target.scalar("select count(*) from analytics.fct_daily") == 15


def test_a_long_range_rebuilds_the_table_and_keeps_the_other_days(
    target: Target, monkeypatch
) -> None:
    monkeypatch.setattr("datatrendz_pipelines.publishing.postgres.REBUILD_AFTER_DAYS", 2)

    def day_rows(day: int, rows: int, seed: int) -> pa.Table:
        table = order_lines(rows, seed=seed)
        return table.set_column(1, "order_date", pa.array([dt.date(2024, 4, day)] * rows))

    kwargs = {"name": "fct_rebuilt", "date_column": "order_date", "role": target.writer}
    days = [day_rows(d, 10, d) for d in range(1, 6)]
    publish_partitions(target.url, pa.concat_tables(days), reader_role=target.reader, **kwargs)
    oid = target.scalar("select 'analytics.fct_rebuilt'::regclass::oid")
    # Days 2-4 again (three days: past the limit of two), with other rows.
    again = pa.concat_tables([day_rows(d, 4, 10 + d) for d in (2, 3, 4)])
    result = publish_partitions(target.url, again, reader_role=target.reader, **kwargs)

    assert result.rows == 12
    assert target.scalar("select 'analytics.fct_rebuilt'::regclass::oid") != oid  # swapped
    per_day = "select count(*) from analytics.fct_rebuilt where order_date = %s"
    counts = [target.scalar(per_day, [dt.date(2024, 4, d)]) for d in range(1, 6)]
    assert counts == [10, 4, 4, 4, 10]
    assert (
        target.scalar(
            "select count(*) from pg_indexes where tablename = 'fct_rebuilt' "
            "and indexname = 'fct_rebuilt_order_date_idx'"
        )
        == 1
    )
    info = conninfo_to_dict(target.url) | {"user": target.reader}
    with psycopg.connect(**info) as pg:
        assert pg.execute("select count(*) from analytics.fct_rebuilt").fetchone()[0] == 32


def test_connection_user_for_the_reader_reads_published_tables(target: Target) -> None:
    target.publish(order_lines(5), name="kpi_readable")
    info = conninfo_to_dict(target.url) | {"user": target.reader}
    with psycopg.connect(**info) as pg:
        assert pg.execute("select count(*) from analytics.kpi_readable").fetchone()[0] == 5


def test_long_reader_makes_the_swap_give_up_cleanly(target: Target) -> None:
    target.publish(order_lines(10, seed=15), name="kpi_busy")
    with psycopg.connect(target.url) as reader:
        reader.execute("select count(*) from analytics.kpi_busy")  # holds ACCESS SHARE
        with pytest.raises(psycopg.errors.LockNotAvailable):
            target.publish(
                order_lines(20, seed=16), name="kpi_busy", lock_timeout_s=0.1, lock_attempts=2
            )
        reader.rollback()
    assert target.scalar("select count(*) from analytics.kpi_busy") == 10
    assert target.scalar("select count(*) from pg_class where relname like 'kpi_busy%'") == 1
    target.publish(order_lines(20, seed=16), name="kpi_busy")
    assert target.scalar("select count(*) from analytics.kpi_busy") == 20


def test_every_supported_type_round_trips(target: Target) -> None:
    table = pa.table(
        {
            "tiny": pa.array([1, None, -128], pa.int8()),
            "big": pa.array([2**63 - 1, -(2**63), None], pa.int64()),
            "real": pa.array([0.5, None, float("inf")], pa.float32()),
            "flag": pa.array([True, None, False]),
            "label": pa.array(["é", None, ""], pa.large_string()),
            "code": pa.array(["a", "b", None]).dictionary_encode(),
            "day": pa.array([dt.date(1999, 12, 31), None, dt.date(2400, 2, 29)]),
            "at": pa.array([dt.datetime(1900, 1, 1), None, dt.datetime(2024, 1, 1, 0, 0, 0, 1)]),
            "at_utc": pa.array(
                [dt.datetime(2024, 1, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("ms", "UTC")
            ),
            "money": pa.array(
                [Decimal("-0.01"), None, Decimal("99999999.99")], pa.decimal128(10, 2)
            ),
            "huge": pa.array([Decimal("9" * 36), Decimal("-1.5"), None], pa.decimal128(38, 2)),
            "whole": pa.array([Decimal(10_000), Decimal(-9_999), Decimal(0)], pa.decimal128(18, 0)),
            "blob": pa.array([b"\x00\xff", None, b""]),
            "nothing": pa.array([None, None, None], pa.null()),
        }
    )
    target.publish(table, name="kpi_types")
    names = ", ".join(table.column_names)
    with psycopg.connect(target.url) as pg:
        rows = pg.execute(f"select {names} from analytics.kpi_types").fetchall()
    expected = [tuple(row.values()) for row in table.to_pylist()]
    assert rows == expected


def test_empty_table_publishes_as_an_empty_table(target: Target) -> None:
    target.publish(order_lines(0), name="kpi_empty")
    assert target.scalar("select count(*) from analytics.kpi_empty") == 0
