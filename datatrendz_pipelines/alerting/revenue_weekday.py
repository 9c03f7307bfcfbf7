"""revenue_anomaly: daily net revenue per store x channel (and in total) against the same weekday
of the previous weeks, with the robust z-score of the traffic rules.

It needs no forecast, so it also watches days the forecaster never saw (a backfill, a first
year), where `revenue_outside_forecast` has nothing to compare with.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from datatrendz_pipelines.alerting.anomaly import Anomaly, RuleResult
from datatrendz_pipelines.alerting.config import RevenueWeekdayRule
from datatrendz_pipelines.alerting.warehouse import table_exists
from datatrendz_pipelines.alerting.weekday import TOTAL, robust_z

SALES_TABLE = "kpi.kpi_daily_sales"
RULE = "revenue_anomaly"


def _revenue(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], weeks: int, per_store: bool
) -> dict[tuple[str, dt.date], float]:
    """(series, day) -> net revenue for the days and their same weekdays back; a store without
    sales on a day that has sales data counts as 0."""
    needed = sorted({d - dt.timedelta(weeks=k) for d in days for k in range(weeks + 1)})
    rows = conn.execute(
        f"""SELECT sales_date, store_id || '|' || channel, sum(net_revenue)::DOUBLE
        FROM {SALES_TABLE} WHERE sales_date IN (SELECT unnest($days)::DATE) GROUP BY ALL""",
        {"days": needed},
    ).fetchall()
    series = {s for _, s, _ in rows} if per_store else set()
    values: dict[tuple[str, dt.date], float] = {}
    for day in {d for d, _, _ in rows}:
        values[(TOTAL, day)] = 0.0
        values.update({(s, day): 0.0 for s in series})
    for day, key, revenue in rows:
        values[(TOTAL, day)] += revenue or 0.0
        if per_store:
            values[(key, day)] += revenue or 0.0
    return values


def revenue_anomaly(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], cfg: RevenueWeekdayRule
) -> RuleResult:
    """Days whose net revenue (entity `<store_id>|<channel>` or `total`) lies beyond
    `z_threshold` robust z from the same weekday of the previous `weeks` weeks, by at least
    `min_relative_change` of the median; series whose median is under `min_revenue` are skipped."""
    result = RuleResult()
    if not cfg.enabled:
        return result
    if not table_exists(conn, SALES_TABLE):
        result.notes.append(f"{RULE}: skipped, {SALES_TABLE} does not exist")
        return result
    values = _revenue(conn, days, cfg.weeks, cfg.per_store)
    for day in sorted(set(days)):
        if (TOTAL, day) not in values:
            result.notes.append(f"{RULE}: no sales data for {day}, not checked")
            continue
        for series in sorted({s for s, d in values if d == day}):
            history = [
                values[(series, day - dt.timedelta(weeks=k))]
                for k in range(1, cfg.weeks + 1)
                if (series, day - dt.timedelta(weeks=k)) in values
            ]
            if len(history) < cfg.min_history:
                continue
            value = values[(series, day)]
            stat = robust_z(value, history)
            if stat.median < cfg.min_revenue or abs(stat.z) <= cfg.z_threshold:
                continue
            if abs(value - stat.median) < cfg.min_relative_change * stat.median:
                continue
            kind = "spike" if stat.z > 0 else "drop"
            result.anomalies.append(
                Anomaly(
                    rule=RULE,
                    entity=series,
                    day=day,
                    measured_value=value,
                    expected_low=max(0.0, stat.median - cfg.z_threshold * stat.scale),
                    expected_high=stat.median + cfg.z_threshold * stat.scale,
                    severity="critical" if abs(stat.z) >= cfg.critical_z else "warning",
                    message=(
                        f"Revenue {kind} for {series} on {day:%a %Y-%m-%d}: {value:,.2f} vs a "
                        f"median of {stat.median:,.2f} on the same weekday of the previous "
                        f"{len(history)} weeks (robust z {stat.z:+.1f})"
                    ),
                )
            )
    return result
