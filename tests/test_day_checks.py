"""Per-day reconciliation and volume checks, computed in DuckDB."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.ingestion.tables import ensure_tables
from datatrendz_pipelines.quality.checks import plan_frames, validation_plan
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


def _orders(conn, rows_per_day: dict[dt.date, int]) -> None:
    for day, rows in rows_per_day.items():
        conn.execute(
            "INSERT INTO raw.orders (order_id, _partition_date) "
            "SELECT 'O' || i::VARCHAR, ?::DATE FROM range(?) t(i)",
            [day, rows],
        )


@pytest.mark.parametrize(("max_rows", "sampled"), [(0, False), (900, False), (300, True)])
def test_gx_validates_every_row_unless_the_days_hold_more_than_its_budget(conn, max_rows, sampled):
    days = [START + dt.timedelta(days=i) for i in range(3)]
    _orders(conn, dict(zip(days, (200, 300, 400), strict=True)))
    plan = validation_plan(conn, "orders", days, max_rows)
    frames = list(plan_frames(conn, "orders", plan))
    validated = sum(len(f) for f in frames)
    assert plan.rows_in_days == 900 and plan.sampled is sampled
    if sampled:
        assert len(frames) == 1 and 200 < validated < 400  # each row kept with p = 1/3
        assert {d.date() for d in frames[0]["_partition_date"]} == set(days)
    else:
        assert validated == 900


def test_gx_chunks_whole_days_of_at_most_half_a_million_rows(conn, monkeypatch):
    monkeypatch.setattr("datatrendz_pipelines.quality.checks.GX_MAX_ROWS_PER_CHUNK", 5)
    days = [START + dt.timedelta(days=i) for i in range(4)]
    _orders(conn, dict(zip(days, (2, 3, 4, 6), strict=True)))
    plan = validation_plan(conn, "orders", days, 0)
    assert plan.chunks == [days[:2], days[2:3], days[3:]]
    assert [len(f) for f in plan_frames(conn, "orders", plan)] == [5, 4, 6]


def test_gx_frames_hold_the_contract_columns_and_the_day_without_the_lineage(conn):
    _orders(conn, {START: 3})
    plan = validation_plan(conn, "orders", [START], 0)
    (frame,) = plan_frames(conn, "orders", plan, ORDERS.column_names)
    assert list(frame.columns) == [*ORDERS.column_names, "_partition_date"]
    (everything,) = plan_frames(conn, "orders", plan)
    assert {"_source_file", "_source_row", "_loaded_at"} <= set(everything.columns)
