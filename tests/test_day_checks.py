"""Per-day reconciliation and volume checks, computed in DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.ingestion.tables import ensure_tables
from datatrendz_pipelines.quality.day_checks import day_counts, volume_findings

ORDERS = load_contracts()["orders"]
START = dt.date(2025, 1, 1)


@pytest.fixture
def conn():
    with duckdb.connect() as connection:
        ensure_tables(connection, ORDERS)
        yield connection


def log_day(conn, day: dt.date, rows_read: int) -> None:
    conn.execute(
        "INSERT INTO meta.raw_loads VALUES ('orders', ?, 'f.csv', 'csv', ?, ?, 0, now(), 'r')",
        [day, rows_read, rows_read],
    )


def test_a_day_reconciles_when_raw_and_quarantine_add_up_to_the_files(conn):
    log_day(conn, START, 3)
    conn.execute(
        "INSERT INTO raw.orders (order_id, _partition_date) VALUES ('O1', ?), ('O2', ?)",
        [START, START],
    )
    conn.execute(
        "INSERT INTO quarantine.orders (order_id, _partition_date) VALUES ('O3', ?)", [START]
    )
    (counts,) = day_counts(conn, "orders", [START])
    assert counts.reconciles and counts.quarantine_share == pytest.approx(1 / 3)

    conn.execute("DELETE FROM quarantine.orders")
    (counts,) = day_counts(conn, "orders", [START])
    assert not counts.reconciles


def test_volume_outside_the_band_warns_and_an_empty_required_day_is_reported(conn):
    for i in range(14):
        log_day(conn, START + dt.timedelta(days=i), 100)
    drop, spike, normal, empty = (START + dt.timedelta(days=i) for i in (14, 15, 16, 17))
    log_day(conn, drop, 20)
    log_day(conn, spike, 400)
    log_day(conn, normal, 90)
    findings = volume_findings(conn, ORDERS, [drop, spike, normal, empty])

    assert [(f.day, f.problem) for f in findings] == [
        (drop, "low"),
        (spike, "high"),
        (empty, "empty"),
    ]
    assert findings[0].expected_low == pytest.approx(50.0, rel=0.2)


def test_volume_is_not_judged_without_a_week_of_history(conn):
    for i in range(3):
        log_day(conn, START + dt.timedelta(days=i), 100)
    log_day(conn, START + dt.timedelta(days=3), 5)
    assert volume_findings(conn, ORDERS, [START + dt.timedelta(days=3)]) == []
