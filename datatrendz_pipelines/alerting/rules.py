"""Anomaly rules: plain functions over a DuckDB connection for a list of days.

Each rule takes (conn, days, its config) and returns a RuleResult (the Anomaly records, plus
notes on what could not be checked). `evaluate_rules` runs every enabled rule; a rule that
fails is reported in `errors` and does not stop the others. Defaults live in rules.yaml.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

import duckdb

from datatrendz_pipelines.alerting.anomaly import Anomaly, RuleResult, Severity
from datatrendz_pipelines.alerting.config import (
    LowStockRule,
    RevenueRule,
    RulesConfig,
    RulesConfigError,
    VolumeRule,
    load_rules,
)
from datatrendz_pipelines.alerting.revenue_weekday import revenue_anomaly
from datatrendz_pipelines.alerting.warehouse import quoted, table_columns, table_exists
from datatrendz_pipelines.alerting.weekday import conversion_anomaly, robust_z, traffic_anomaly

__all__ = [
    "RulesConfig",
    "RulesConfigError",
    "conversion_anomaly",
    "data_volume_drop",
    "evaluate_rules",
    "load_rules",
    "low_stock",
    "revenue_outside_forecast",
    "robust_z",
    "traffic_anomaly",
]

SALES_TABLE = "kpi.kpi_daily_sales"
INVENTORY_TABLE = "kpi.kpi_inventory_health"
LOADS_TABLE = "meta.raw_loads"


def _days(days: Sequence[dt.date]) -> list[dt.date]:
    return sorted(set(days))


def revenue_outside_forecast(
    conn: duckdb.DuckDBPyConnection, days: Sequence[dt.date], cfg: RevenueRule
) -> RuleResult:
    """Daily net revenue per store x channel (entity `<store_id>|<channel>`) and in total
    (`total`) outside the champion forecast's [yhat_lower, yhat_upper] (currency units).

    Forecast rows: if the table has an `alias` column, only alias = 'champion'; of several rows
    per series and day, the highest model_version wins. A series with a forecast but no sales
    on a day that has sales data made 0. Days without sales data or forecasts are noted, and
    the rule is skipped with a note while the forecast table does not exist. Severity: the
    distance beyond the crossed bound as a share of that bound (see rules.yaml)."""
    result = RuleResult()
    rule = "revenue_outside_forecast"
    if not cfg.enabled:
        return result
    for table in (cfg.forecast_table, SALES_TABLE):
        if not table_exists(conn, table):
            result.notes.append(f"{rule}: skipped, {table} does not exist (no forecasts yet?)")
            return result
    columns = table_columns(conn, cfg.forecast_table)
    alias = "AND alias = 'champion'" if "alias" in columns else ""
    # The forecast the business had: the latest made before the day (ml.forecasts_* keep every origin).
    if "forecast_origin" in columns:
        alias += ' AND forecast_origin < "date"'
    latest_first = "forecast_origin DESC," if "forecast_origin" in columns else ""
    rows = conn.execute(
        f"""
        WITH days AS (SELECT unnest($days)::DATE AS day),
        sales AS (
            SELECT sales_date AS day, store_id || '|' || channel AS series_id,
                   sum(net_revenue)::DOUBLE AS revenue
            FROM {SALES_TABLE} WHERE sales_date IN (SELECT day FROM days) GROUP BY ALL
        ),
        actuals AS (
            SELECT day, series_id, revenue FROM sales
            UNION ALL SELECT day, 'total', sum(revenue) FROM sales GROUP BY day
        ),
        forecasts AS (
            SELECT series_id, "date"::DATE AS day, yhat, yhat_lower, yhat_upper,
                   model_version::VARCHAR AS model_version
            FROM {quoted(cfg.forecast_table)}
            WHERE "date"::DATE IN (SELECT day FROM days) {alias}
            QUALIFY row_number() OVER (
                PARTITION BY series_id, "date"::DATE
                ORDER BY {latest_first} try_cast(model_version AS BIGINT) DESC NULLS LAST,
                         model_version::VARCHAR DESC
            ) = 1
        )
        SELECT f.day, f.series_id, coalesce(a.revenue, 0), f.yhat, f.yhat_lower, f.yhat_upper,
               f.model_version, f.day IN (SELECT day FROM sales)
        FROM forecasts f LEFT JOIN actuals a USING (day, series_id)
        ORDER BY f.day, f.series_id
        """,
        {"days": _days(days)},
    ).fetchall()
    forecast_days = {r[0] for r in rows}
    for day in _days(days):
        if day not in forecast_days:
            result.notes.append(f"{rule}: no forecast in {cfg.forecast_table} for {day}")
    no_sales = sorted({r[0] for r in rows if not r[7]})
    for day in no_sales:
        result.notes.append(f"{rule}: no rows in {SALES_TABLE} for {day}, not checked")
    for day, series, actual, yhat, low, high, version, has_sales in rows:
        if not has_sales or low is None or high is None:
            continue
        below = actual < low and cfg.direction in ("below", "both")
        above = actual > high and cfg.direction in ("above", "both")
        if not (below or above):
            continue
        bound = low if below else high
        distance = abs(actual - bound) / abs(bound) if bound else math.inf
        severity: Severity = (
            "critical"
            if distance >= cfg.critical_distance
            else "warning"
            if distance >= cfg.warning_distance
            else "info"
        )
        gap = f"{(actual - yhat) / yhat:+.0%} vs forecast " if yhat else ""
        result.anomalies.append(
            Anomaly(
                rule=rule,
                entity=series,
                day=day,
                measured_value=float(actual),
                expected_low=float(low),
                expected_high=float(high),
                severity=severity,
                message=(
                    f"Net revenue of {series} on {day} is {actual:,.2f}, "
                    f"{'below' if below else 'above'} the forecast interval "
                    f"[{low:,.2f}, {high:,.2f}] ({gap}{yhat:,.2f}, model version {version})"
                ),
            )
        )
    return result


def low_stock(
    conn: duckdb.DuckDBPyConnection, days: Sequence[dt.date], cfg: LowStockRule
) -> RuleResult:
    """Products that sell (average_daily_units_sold_28d > min_average_daily_units) with
    days_of_cover < days_of_cover_below; one anomaly per store x product (entity
    `<store_id>|<product_id>`, measured value in days of cover) on the first day of each low
    streak, and again on the day it runs out. A stock-out is critical."""
    result = RuleResult()
    if not cfg.enabled:
        return result
    if not table_exists(conn, INVENTORY_TABLE):
        result.notes.append(f"low_stock: skipped, {INVENTORY_TABLE} does not exist")
        return result
    # A streak of low days is one alert, on its first day (and again when it runs out).
    rows = conn.execute(
        f"""
        WITH window_rows AS (
            SELECT snapshot_date, store_id, product_id, days_of_cover::DOUBLE AS cover,
                   quantity_on_hand, average_daily_units_sold_28d::DOUBLE AS per_day,
                   coalesce(is_stock_out, quantity_on_hand <= 0) AS stock_out,
                   coalesce(average_daily_units_sold_28d > $min_units
                            AND days_of_cover < $below, FALSE) AS is_low
            FROM {INVENTORY_TABLE}
            WHERE snapshot_date BETWEEN $first::DATE - 1 AND $last::DATE
        ),
        marked AS (
            SELECT *,
                   lag(is_low) OVER w AS was_low,
                   lag(is_low AND stock_out) OVER w AS was_out
            FROM window_rows
            WINDOW w AS (PARTITION BY store_id, product_id ORDER BY snapshot_date)
        )
        SELECT snapshot_date, store_id, product_id, cover, quantity_on_hand, per_day, stock_out
        FROM marked
        WHERE snapshot_date IN (SELECT unnest($days)::DATE) AND is_low
          AND (NOT coalesce(was_low, FALSE) OR (stock_out AND NOT coalesce(was_out, FALSE)))
        ORDER BY snapshot_date, cover, store_id, product_id
        """,
        {
            "days": _days(days),
            "first": min(days),
            "last": max(days),
            "min_units": cfg.min_average_daily_units,
            "below": cfg.days_of_cover_below,
        },
    ).fetchall()
    for day, store, product, cover, on_hand, per_day, stock_out in rows:
        severity: Severity = (
            "critical" if stock_out else "warning" if cover < cfg.warning_days_of_cover else "info"
        )
        state = "out of stock" if stock_out else f"{cover:g} days of cover left"
        result.anomalies.append(
            Anomaly(
                rule="low_stock",
                entity=f"{store}|{product}",
                day=day,
                measured_value=cover,
                expected_low=float(cfg.days_of_cover_below),
                expected_high=None,
                severity=severity,
                message=(
                    f"Product {product} at store {store} on {day}: {state} "
                    f"({on_hand} on hand, selling {per_day:g} a day over 28 days)"
                ),
            )
        )
    return result


def data_volume_drop(
    conn: duckdb.DuckDBPyConnection, days: Sequence[dt.date], cfg: VolumeRule
) -> RuleResult:
    """A source's rows_read on a day (meta.raw_loads summed over files; 0 when nothing was
    loaded) below `ratio` x its mean over the previous `window_days` days that had loads.
    Entity = source name; measured value in rows."""
    result = RuleResult()
    if not cfg.enabled:
        return result
    if not table_exists(conn, LOADS_TABLE):
        result.notes.append(f"data_volume_drop: skipped, {LOADS_TABLE} does not exist")
        return result
    wanted = _days(days)
    rows = (
        conn.execute(
            f"""
        WITH daily AS (
            SELECT source, partition_date AS day, sum(rows_read)::DOUBLE AS n
            FROM {LOADS_TABLE}
            WHERE partition_date BETWEEN $first - $window::INTEGER AND $last
            GROUP BY ALL
        ),
        targets AS (
            SELECT s.source, t.day
            FROM (SELECT DISTINCT source FROM daily) s
            CROSS JOIN (SELECT unnest($days)::DATE AS day) t
        )
        SELECT t.source, t.day, coalesce(any_value(d.n), 0), avg(h.n), count(h.n)
        FROM targets t
        LEFT JOIN daily d ON d.source = t.source AND d.day = t.day
        LEFT JOIN daily h ON h.source = t.source AND h.day < t.day
            AND h.day >= t.day - $window::INTEGER
        GROUP BY t.source, t.day
        ORDER BY t.day, t.source
        """,
            {"days": wanted, "first": wanted[0], "last": wanted[-1], "window": cfg.window_days},
        ).fetchall()
        if wanted
        else []
    )
    for source, day, n, mean, n_days in rows:
        if n_days < cfg.min_history_days:
            if n_days:
                result.notes.append(
                    f"data_volume_drop: {source} on {day} has {n_days} of the "
                    f"{cfg.min_history_days} days of load history needed, not checked"
                )
            continue
        if n >= cfg.ratio * mean:
            continue
        share = n / mean if mean else 0.0
        result.anomalies.append(
            Anomaly(
                rule="data_volume_drop",
                entity=source,
                day=day,
                measured_value=n,
                expected_low=cfg.ratio * mean,
                expected_high=None,
                severity="critical" if n == 0 or share < cfg.critical_ratio else "warning",
                message=(
                    f"Source {source} read {n:,.0f} rows on {day}, {share:.0%} of its "
                    f"{cfg.window_days}-day mean of {mean:,.0f} (alert below {cfg.ratio:.0%})"
                ),
            )
        )
    return result


RULES: dict[str, Callable[..., RuleResult]] = {
    "revenue_outside_forecast": revenue_outside_forecast,
    "revenue_anomaly": revenue_anomaly,
    "traffic_anomaly": traffic_anomaly,
    "conversion_anomaly": conversion_anomaly,
    "low_stock": low_stock,
    "data_volume_drop": data_volume_drop,
}


def evaluate_rules(
    conn: duckdb.DuckDBPyConnection,
    days: Sequence[dt.date],
    config: RulesConfig | None = None,
) -> RuleResult:
    """Every enabled rule over `days`; a rule that raises a database error is reported in
    `errors` (the others still run)."""
    config = config or load_rules()
    result = RuleResult()
    for name, rule in RULES.items():
        try:
            result.extend(rule(conn, list(days), getattr(config, name)))
        except duckdb.Error as exc:
            result.errors.append(f"{name}: {type(exc).__name__}: {exc}")
    return result
