"""Same-weekday robust z-score rules: traffic_anomaly (sessions) and conversion_anomaly.

Each day's value (in total and per traffic source) is compared with the same weekday of the
previous `weeks` weeks: z = (x - median) / (1.4826 x MAD). When the MAD is 0 the scale falls back
to 1.2533 x the mean absolute deviation (the usual modified z-score fallback); when that is 0
too, any change from the median is an infinite z (the `min_relative_change` and
`min_sessions` floors keep tiny series quiet).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from datatrendz_pipelines.alerting.anomaly import Anomaly, RuleResult
from datatrendz_pipelines.alerting.config import WeekdayRule
from datatrendz_pipelines.alerting.warehouse import table_exists

FUNNEL_TABLE = "kpi.kpi_web_funnel_daily"
MAD_SCALE = 1.4826
MEAN_AD_SCALE = 1.2533
TOTAL = "total"


@dataclass(frozen=True)
class RobustZ:
    z: float
    median: float
    scale: float


def robust_z(value: float, history: Sequence[float]) -> RobustZ:
    """Robust z-score of `value` against `history` (non-empty): median and MAD x 1.4826."""
    median = statistics.median(history)
    deviations = [abs(h - median) for h in history]
    scale = MAD_SCALE * statistics.median(deviations)
    if scale == 0:
        scale = MEAN_AD_SCALE * statistics.fmean(deviations)
    if scale == 0:
        z = 0.0 if value == median else math.copysign(math.inf, value - median)
    else:
        z = (value - median) / scale
    return RobustZ(z, median, scale)


def _series(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], weeks: int, per_source: bool
) -> dict[tuple[str, dt.date], tuple[int, int]]:
    """(segment, day) -> (sessions, order_sessions) for the days and their same weekdays back.
    A source absent on a day that has funnel data counts as 0 sessions."""
    needed = sorted({d - dt.timedelta(weeks=k) for d in days for k in range(weeks + 1)})
    rows = conn.execute(
        f"""
        SELECT session_date, traffic_source, sum(sessions), sum(order_sessions)
        FROM {FUNNEL_TABLE}
        WHERE session_date IN (SELECT unnest($days)::DATE)
        GROUP BY ALL
        """,
        {"days": needed},
    ).fetchall()
    data_days = {r[0] for r in rows}
    sources = {str(r[1]) for r in rows} if per_source else set()
    values: dict[tuple[str, dt.date], tuple[int, int]] = {}
    for day in data_days:
        values[(TOTAL, day)] = (0, 0)
        for source in sources:
            values[(f"traffic_source={source}", day)] = (0, 0)
    for day, source, sessions, orders in rows:
        keys = [(TOTAL, day)] + ([(f"traffic_source={source}", day)] if per_source else [])
        for key in keys:
            s, o = values[key]
            values[key] = (s + int(sessions or 0), o + int(orders or 0))
    return values


def _evaluate(
    conn: duckdb.DuckDBPyConnection,
    days: list[dt.date],
    cfg: WeekdayRule,
    rule: str,
    metric: str,
) -> RuleResult:
    result = RuleResult()
    if not cfg.enabled:
        return result
    if not table_exists(conn, FUNNEL_TABLE):
        result.notes.append(f"{rule}: skipped, {FUNNEL_TABLE} does not exist")
        return result
    values = _series(conn, days, cfg.weeks, cfg.per_traffic_source)
    segments = sorted({segment for segment, _ in values})

    def point(segment: str, day: dt.date) -> float | None:
        if (segment, day) not in values:
            return None
        sessions, orders = values[(segment, day)]
        if metric == "sessions":
            return float(sessions)
        return orders / sessions if sessions and sessions >= cfg.min_sessions else None

    for day in sorted(set(days)):
        if (TOTAL, day) not in values:
            result.notes.append(f"{rule}: no web funnel data for {day}, not checked")
            continue
        short: list[str] = []
        for segment in segments:
            value = point(segment, day)
            history = [
                h
                for k in range(1, cfg.weeks + 1)
                if (h := point(segment, day - dt.timedelta(weeks=k))) is not None
            ]
            if value is None:
                continue
            if len(history) < cfg.min_history:
                short.append(segment)
                continue
            stat = robust_z(value, history)
            if metric == "sessions" and max(value, stat.median) < cfg.min_sessions:
                continue
            change = abs(value - stat.median)
            if abs(stat.z) <= cfg.z_threshold or change < cfg.min_relative_change * abs(
                stat.median
            ):
                continue
            result.anomalies.append(
                _anomaly(rule, metric, segment, day, value, stat, cfg, len(history))
            )
        if short:
            result.notes.append(
                f"{rule}: {', '.join(short)} on {day}: fewer than {cfg.min_history} of the "
                f"previous {cfg.weeks} same weekdays have data, not checked"
            )
    return result


def _anomaly(
    rule: str,
    metric: str,
    segment: str,
    day: dt.date,
    value: float,
    stat: RobustZ,
    cfg: WeekdayRule,
    n: int,
) -> Anomaly:
    kind = "spike" if stat.z > 0 else "drop"
    low = max(0.0, stat.median - cfg.z_threshold * stat.scale)
    high = stat.median + cfg.z_threshold * stat.scale
    if metric == "sessions":
        shown = f"{value:,.0f} sessions vs a median of {stat.median:,.0f}"
        label = "Traffic"
    else:
        shown = f"conversion rate {value:.2%} vs a median of {stat.median:.2%}"
        label = "Conversion"
    ratio = f" ({value / stat.median:.1f}x)" if stat.median else ""
    return Anomaly(
        rule=rule,
        entity=segment,
        day=day,
        measured_value=value,
        expected_low=low,
        expected_high=high,
        severity="critical" if abs(stat.z) >= cfg.critical_z else "warning",
        message=(
            f"{label} {kind} for {segment} on {day:%a %Y-%m-%d}: {shown}{ratio} on the same "
            f"weekday of the previous {n} weeks (robust z {stat.z:+.1f})"
        ),
    )


def traffic_anomaly(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], cfg: WeekdayRule
) -> RuleResult:
    """Daily sessions (kpi_web_funnel_daily summed over devices), in total and per traffic
    source, whose robust z against the same weekday of the previous weeks exceeds the
    threshold. Entity `total` or `traffic_source=<source>`; measured value in sessions."""
    return _evaluate(conn, days, cfg, "traffic_anomaly", "sessions")


def conversion_anomaly(
    conn: duckdb.DuckDBPyConnection, days: list[dt.date], cfg: WeekdayRule
) -> RuleResult:
    """Daily conversion rate (sum(order_sessions) / sum(sessions), a share in [0, 1]) in total
    and per traffic source, same method as `traffic_anomaly`; days with fewer than
    `min_sessions` sessions have no usable rate."""
    return _evaluate(conn, days, cfg, "conversion_anomaly", "conversion_rate")
