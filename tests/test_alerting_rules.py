"""Anomaly rules over small DuckDB tables built with the kpi columns."""

from __future__ import annotations

import datetime as dt
import math
import random

import duckdb
import pytest

from datatrendz_pipelines.alerting.rules import (
    data_volume_drop,
    evaluate_rules,
    load_rules,
    low_stock,
    revenue_outside_forecast,
    robust_z,
    traffic_anomaly,
)
from datatrendz_pipelines.alerting.weekday import conversion_anomaly

DAY = dt.date(2024, 4, 22)  # a Monday; six Mondays of history before it
RULES = load_rules()


@pytest.fixture
def conn() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA kpi; CREATE SCHEMA meta; CREATE SCHEMA ml")
    yield connection
    connection.close()


def make_funnel(conn, spike: float = 1.0, conversion: float = 1.0) -> None:
    """Seven weeks of daily sessions for 2 sources x 2 devices, with noise; the organic
    sessions of DAY multiplied by `spike`, its conversion by `conversion`."""
    conn.execute(
        """CREATE TABLE kpi.kpi_web_funnel_daily (session_date DATE, traffic_source VARCHAR,
        device VARCHAR, sessions INTEGER, order_sessions INTEGER, conversion_rate DECIMAL(6,4))"""
    )
    noise = random.Random(7)
    rows = []
    for i in range(49):
        day = DAY - dt.timedelta(days=48 - i)
        weekly = 1.3 if day.weekday() >= 5 else 1.0
        for source, base, rate in (("organic", 400, 0.03), ("paid", 150, 0.05)):
            for device, share in (("desktop", 0.4), ("mobile", 0.6)):
                sessions = round(base * share * weekly * noise.gauss(1, 0.05))
                conv = rate * noise.gauss(1, 0.05)
                if day == DAY and source == "organic":
                    sessions, conv = round(sessions * spike), conv * conversion
                orders = round(sessions * conv)
                rows.append((day, source, device, sessions, orders, orders / sessions))
    conn.executemany("INSERT INTO kpi.kpi_web_funnel_daily VALUES (?, ?, ?, ?, ?, ?)", rows)


@pytest.mark.parametrize(
    ("value", "history", "flagged"),
    [
        (400, [100, 104, 98, 101, 99, 103], True),  # 4x spike
        (30, [100, 104, 98, 101, 99, 103], True),  # 70% drop
        (102, [100, 104, 98, 101, 99, 103], False),
        (100, [100, 100, 100, 100], False),  # flat history, same value
    ],
)
def test_robust_z(value, history, flagged):
    assert (abs(robust_z(value, history).z) > 3.5) is flagged


def test_robust_z_uses_median_and_scaled_mad():
    stat = robust_z(10, [1, 2, 3, 4, 100])
    assert stat.median == 3
    assert stat.scale == pytest.approx(1.4826 * 1)
    assert stat.z == pytest.approx(7 / 1.4826)
    assert math.isinf(robust_z(5, [1, 1, 1]).z)


def test_traffic_spike_of_4x_is_flagged_for_total_and_source(conn):
    make_funnel(conn, spike=4.0)
    result = traffic_anomaly(conn, [DAY], RULES.traffic_anomaly)
    by_entity = {a.entity: a for a in result}
    assert set(by_entity) == {"total", "traffic_source=organic"}
    organic = by_entity["traffic_source=organic"]
    assert organic.rule == "traffic_anomaly" and organic.day == DAY
    assert organic.severity == "critical"
    assert organic.measured_value > organic.expected_high
    assert "spike" in organic.message and "Mon" in organic.message


def test_normal_traffic_and_conversion_are_not_flagged(conn):
    make_funnel(conn)
    week = [DAY - dt.timedelta(days=i) for i in range(7)]
    assert traffic_anomaly(conn, week, RULES.traffic_anomaly).anomalies == []
    result = conversion_anomaly(conn, week, RULES.conversion_anomaly)
    assert result.anomalies == []
    assert result.errors == []


def test_short_history_is_not_checked_and_noted(conn):
    make_funnel(conn, spike=4.0)
    early = DAY - dt.timedelta(weeks=4)  # only 3 Mondays before it
    result = traffic_anomaly(conn, [early], RULES.traffic_anomaly)
    assert result.anomalies == []
    assert any("fewer than 4" in note and str(early) in note for note in result.notes)


def test_conversion_drop_is_flagged(conn):
    make_funnel(conn, conversion=0.4)
    result = conversion_anomaly(conn, [DAY], RULES.conversion_anomaly)
    entities = {a.entity for a in result}
    assert "traffic_source=organic" in entities
    assert "traffic_source=paid" not in entities
    assert all("drop" in a.message for a in result)


def make_sales(conn, s1_factor: float) -> None:
    conn.execute(
        """CREATE TABLE kpi.kpi_daily_sales (sales_date DATE, store_id VARCHAR, channel VARCHAR,
        category VARCHAR, net_revenue DECIMAL(18,2), orders INTEGER, units_sold INTEGER)"""
    )
    conn.executemany(
        "INSERT INTO kpi.kpi_daily_sales VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (DAY, "S1", "store", "toys", 600 * s1_factor, 10, 20),
            (DAY, "S1", "store", "food", 400 * s1_factor, 10, 20),
            (DAY, "WEB", "online", "toys", 1000, 10, 20),
        ],
    )


def make_forecasts(conn, alias: bool = False) -> None:
    extra = ", alias VARCHAR" if alias else ""
    conn.execute(
        f"""CREATE TABLE ml.forecasts_revenue (series_id VARCHAR, date DATE, yhat DOUBLE,
        yhat_lower DOUBLE, yhat_upper DOUBLE, model_version VARCHAR{extra})"""
    )
    rows = [
        (series, DAY, y, y * 0.85, y * 1.15, "3")
        for series, y in (("S1|store", 1000), ("WEB|online", 1000), ("total", 2000))
    ]
    rows.append(("S1|store", DAY, 300, 250, 350, "2"))  # an older version: ignored
    if alias:
        rows = [(*r, "champion" if r[-1] == "3" else "challenger") for r in rows]
    conn.executemany(
        f"INSERT INTO ml.forecasts_revenue VALUES ({', '.join('?' * len(rows[0]))})", rows
    )


@pytest.mark.parametrize("alias", [False, True])
def test_revenue_drop_of_70_percent_is_flagged(conn, alias):
    make_sales(conn, s1_factor=0.3)
    make_forecasts(conn, alias=alias)
    result = revenue_outside_forecast(conn, [DAY], RULES.revenue_outside_forecast)
    by_entity = {a.entity: a for a in result}
    assert set(by_entity) == {"S1|store", "total"}
    s1 = by_entity["S1|store"]
    assert s1.measured_value == pytest.approx(300)
    assert (s1.expected_low, s1.expected_high) == (pytest.approx(850), pytest.approx(1150))
    assert s1.severity == "critical"
    assert "below" in s1.message and "-70%" in s1.message
    assert by_entity["total"].measured_value == pytest.approx(1300)


def test_revenue_inside_interval_is_quiet(conn):
    make_sales(conn, s1_factor=1.05)
    make_forecasts(conn)
    assert revenue_outside_forecast(conn, [DAY], RULES.revenue_outside_forecast).anomalies == []


def test_revenue_rule_skips_with_a_note_without_forecasts(conn):
    make_sales(conn, s1_factor=0.3)
    result = revenue_outside_forecast(conn, [DAY], RULES.revenue_outside_forecast)
    assert result.anomalies == []
    assert result.notes == [
        "revenue_outside_forecast: skipped, ml.forecasts_revenue does not exist (no forecasts yet?)"
    ]


def test_low_stock_flags_only_selling_products(conn):
    conn.execute(
        """CREATE TABLE kpi.kpi_inventory_health (snapshot_date DATE, store_id VARCHAR,
        product_id VARCHAR, quantity_on_hand INTEGER, units_sold_28d INTEGER,
        average_daily_units_sold_28d DECIMAL(18,4), days_of_cover DECIMAL(18,2),
        is_stock_out BOOLEAN, is_low_stock BOOLEAN)"""
    )
    conn.executemany(
        "INSERT INTO kpi.kpi_inventory_health VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (DAY, "S1", "P-selling-low", 5, 56, 2.0, 2.5, False, True),
            (DAY, "S1", "P-selling-ok", 100, 56, 2.0, 50.0, False, False),
            (DAY, "S1", "P-slow", 1, 7, 0.25, 4.0, False, True),  # sells, but slowly
            (DAY, "S1", "P-unsold", 3, 0, 0.0, None, False, False),
            (DAY, "S2", "P-out", 0, 84, 3.0, 0.0, True, True),
            (DAY, "S2", "P-five-days", 10, 56, 2.0, 5.0, False, True),
            (DAY - dt.timedelta(days=1), "S1", "P-yesterday", 1, 56, 2.0, 0.5, False, True),
        ],
    )
    result = low_stock(conn, [DAY], RULES.low_stock)
    by_entity = {a.entity: a.severity for a in result}
    assert by_entity == {
        "S1|P-selling-low": "warning",
        "S2|P-out": "critical",
        "S2|P-five-days": "info",
    }
    assert all(a.day == DAY and a.expected_low == 7 for a in result)


def test_data_volume_drop(conn):
    conn.execute(
        """CREATE TABLE meta.raw_loads (source VARCHAR, partition_date DATE, source_file VARCHAR,
        file_format VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
        loaded_at TIMESTAMP, run_id VARCHAR)"""
    )
    rows = []
    for i in range(1, 29):
        day = DAY - dt.timedelta(days=i)
        rows += [("orders", day, "a.csv", "csv", 600, 600, 0, None, "r")]
        rows += [("orders", day, "b.csv", "csv", 400, 400, 0, None, "r")]
        rows += [("customers", day, "c.csv", "csv", 50 + i % 3, 50, 0, None, "r")]
        rows += [("stores", day, "s.csv", "csv", 5, 5, 0, None, "r")] if i <= 3 else []
    rows += [("orders", DAY, "a.csv", "csv", 300, 300, 0, None, "r")]
    rows += [("customers", DAY, "c.csv", "csv", 49, 49, 0, None, "r")]
    conn.executemany("INSERT INTO meta.raw_loads VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    result = data_volume_drop(conn, [DAY], RULES.data_volume_drop)
    assert [(a.entity, a.measured_value, a.severity) for a in result] == [
        ("orders", 300, "warning")
    ]
    assert result.anomalies[0].expected_low == pytest.approx(500)
    assert any(note.startswith("data_volume_drop: stores") for note in result.notes)


def test_evaluate_rules_on_an_empty_warehouse_notes_every_rule(conn):
    result = evaluate_rules(conn, [DAY], RULES)
    assert result.anomalies == [] and result.errors == []
    assert len(result.notes) == 6  # one per rule


def test_evaluate_rules_reports_a_broken_table_as_an_error(conn):
    conn.execute("CREATE TABLE kpi.kpi_inventory_health (snapshot_date DATE)")
    result = evaluate_rules(conn, [DAY], RULES)
    assert len(result.errors) == 1 and result.errors[0].startswith("low_stock:")


def make_weekday_sales(conn, last_factor: float) -> None:
    """Six Mondays of steady sales before DAY, then DAY with S1 scaled by `last_factor`."""
    conn.execute(
        """CREATE TABLE kpi.kpi_daily_sales (sales_date DATE, store_id VARCHAR, channel VARCHAR,
        category VARCHAR, net_revenue DECIMAL(18,2))"""
    )
    rows = []
    for week in range(7):
        day = DAY - dt.timedelta(weeks=6 - week)
        noise = 1 + 0.02 * (week % 3)
        s1 = 1000 * noise * (last_factor if day == DAY else 1)
        rows += [(day, "S1", "store", "toys", round(s1, 2)), (day, "WEB", "online", "toys", 800)]
    conn.executemany("INSERT INTO kpi.kpi_daily_sales VALUES (?, ?, ?, ?, ?)", rows)


def test_a_store_revenue_drop_against_its_weekdays_is_flagged_without_forecasts(conn):
    from datatrendz_pipelines.alerting.revenue_weekday import revenue_anomaly

    make_weekday_sales(conn, last_factor=0.3)
    result = revenue_anomaly(conn, [DAY], RULES.revenue_anomaly)
    flagged = {a.entity: a for a in result}
    assert "S1|store" in flagged and "WEB|online" not in flagged
    assert flagged["S1|store"].measured_value == pytest.approx(300)
    assert "Revenue drop" in flagged["S1|store"].message


def test_steady_weekday_revenue_is_quiet(conn):
    from datatrendz_pipelines.alerting.revenue_weekday import revenue_anomaly

    make_weekday_sales(conn, last_factor=1.0)
    assert revenue_anomaly(conn, [DAY], RULES.revenue_anomaly).anomalies == []


def test_the_forecast_made_last_before_the_day_is_the_one_judged(conn):
    make_sales(conn, s1_factor=1.0)
    conn.execute(
        """CREATE TABLE ml.forecasts_revenue (series_id VARCHAR, forecast_origin DATE, date DATE,
        yhat DOUBLE, yhat_lower DOUBLE, yhat_upper DOUBLE, model_version VARCHAR)"""
    )
    before, same_day = DAY - dt.timedelta(days=1), DAY
    conn.executemany(
        "INSERT INTO ml.forecasts_revenue VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            ("S1|store", before - dt.timedelta(days=7), DAY, 300, 250, 350, "1"),  # older origin
            ("S1|store", before, DAY, 1000, 900, 1100, "1"),  # the latest before the day
            ("S1|store", same_day, DAY, 10, 5, 15, "1"),  # made on the day itself: not a forecast
        ],
    )
    assert revenue_outside_forecast(conn, [DAY], RULES.revenue_outside_forecast).anomalies == []


def test_a_low_stock_streak_alerts_on_its_first_day_and_when_it_runs_out(conn):
    conn.execute(
        """CREATE TABLE kpi.kpi_inventory_health (snapshot_date DATE, store_id VARCHAR,
        product_id VARCHAR, quantity_on_hand INTEGER, average_daily_units_sold_28d DECIMAL(18,4),
        days_of_cover DECIMAL(18,2), is_stock_out BOOLEAN)"""
    )
    cover = [20.0, 5.0, 4.0, 3.5, 0.0, 0.0, 12.0, 6.0]
    days = [DAY + dt.timedelta(days=i) for i in range(len(cover))]
    conn.executemany(
        "INSERT INTO kpi.kpi_inventory_health VALUES (?, 'S1', 'P1', ?, 2.0, ?, ?)",
        [(d, int(c * 2), c, c == 0) for d, c in zip(days, cover, strict=True)],
    )
    result = low_stock(conn, days[1:], RULES.low_stock)
    assert [(a.day, a.severity) for a in result] == [
        (days[1], "info"),
        (days[4], "critical"),
        (days[7], "info"),
    ]
