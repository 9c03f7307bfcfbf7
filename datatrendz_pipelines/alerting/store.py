"""The alert history: `meta.alerts`, one row per rule x entity x day.

A row is created the first time an anomaly is seen and updated (values, severity, message,
last_seen_at) each time it is seen again; first_seen_at and notified_at are never overwritten.
`record_anomalies` returns only anomalies not yet notified, and `mark_notified` sets
notified_at, so the same (rule, entity, day) is never notified twice. Timestamps are UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import duckdb

from datatrendz_pipelines.alerting.anomaly import Anomaly

ALERTS_TABLE = "meta.alerts"
ALERT_FIELDS = (
    "rule",
    "entity",
    "day",
    "measured_value",
    "expected_low",
    "expected_high",
    "severity",
    "message",
)
DDL = f"""
CREATE TABLE IF NOT EXISTS {ALERTS_TABLE} (
    rule VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    day DATE NOT NULL,
    measured_value DOUBLE,
    expected_low DOUBLE,
    expected_high DOUBLE,
    severity VARCHAR NOT NULL,
    message VARCHAR NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    notified_at TIMESTAMP,
    notify_attempts INTEGER NOT NULL DEFAULT 0,
    last_error VARCHAR,
    PRIMARY KEY (rule, entity, day)
)
"""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def ensure_alerts_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute("CREATE SCHEMA IF NOT EXISTS meta")
    conn.execute(DDL)


def _unique(anomalies: Iterable[Anomaly]) -> list[Anomaly]:
    """One anomaly per key; the last one given wins."""
    return list({a.key: a for a in anomalies}.values())


def _keys(anomalies: Sequence[Anomaly]) -> dict[str, list]:
    return {
        "rules": [a.rule for a in anomalies],
        "entities": [a.entity for a in anomalies],
        "days": [a.day for a in anomalies],
    }


KEYS_CTE = """
WITH k AS (
    SELECT unnest($rules) AS rule, unnest($entities) AS entity, unnest($days)::DATE AS day
)
"""


def record_anomalies(
    conn: duckdb.DuckDBPyConnection,
    anomalies: Iterable[Anomaly],
    now: dt.datetime | None = None,
) -> list[Anomaly]:
    """Upsert `anomalies` into meta.alerts by (rule, entity, day) and return those that are new
    or not yet notified (in the order given, one per key)."""
    batch = _unique(anomalies)
    ensure_alerts_table(conn)
    if not batch:
        return []
    now = now or utc_now()
    conn.begin()
    try:
        # One statement for the whole batch: a range run finds tens of thousands of anomalies,
        # and a row-by-row upsert took minutes for them.
        columns = {f: [getattr(a, f) for a in batch] for f in ALERT_FIELDS}
        conn.execute(
            f"""
            INSERT INTO {ALERTS_TABLE} ({", ".join(ALERT_FIELDS)}, first_seen_at, last_seen_at)
            SELECT {", ".join(f"unnest(${f})" for f in ALERT_FIELDS)}, $now, $now
            ON CONFLICT (rule, entity, day) DO UPDATE SET
                measured_value = excluded.measured_value,
                expected_low = excluded.expected_low,
                expected_high = excluded.expected_high,
                severity = excluded.severity,
                message = excluded.message,
                last_seen_at = excluded.last_seen_at
            """,
            columns | {"now": now},
        )
        notified = conn.execute(
            KEYS_CTE
            + f"""
            SELECT a.rule, a.entity, a.day FROM {ALERTS_TABLE} a
            JOIN k USING (rule, entity, day) WHERE a.notified_at IS NOT NULL
            """,
            _keys(batch),
        ).fetchall()
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    done = set(notified)
    return [a for a in batch if a.key not in done]


def _update(
    conn: duckdb.DuckDBPyConnection, anomalies: Iterable[Anomaly], assignments: str, params: dict
) -> None:
    batch = _unique(anomalies)
    if not batch:
        return
    ensure_alerts_table(conn)
    conn.execute(
        KEYS_CTE
        + f"""
        UPDATE {ALERTS_TABLE} AS a SET {assignments}
        FROM k WHERE a.rule = k.rule AND a.entity = k.entity AND a.day = k.day
        """,
        _keys(batch) | params,
    )


def mark_notified(
    conn: duckdb.DuckDBPyConnection,
    anomalies: Iterable[Anomaly],
    error: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record a delivery: notified_at = now (kept if already set), one more attempt, and
    `error` as last_error when some channel failed while another delivered."""
    _update(
        conn,
        anomalies,
        "notified_at = coalesce(a.notified_at, $now), "
        "notify_attempts = a.notify_attempts + 1, last_error = $error",
        {"now": now or utc_now(), "error": error},
    )


def mark_failed(conn: duckdb.DuckDBPyConnection, anomalies: Iterable[Anomaly], error: str) -> None:
    """Record a failed delivery: one more attempt and last_error; notified_at stays empty so a
    later round retries (see `pending_anomalies`)."""
    _update(
        conn,
        anomalies,
        "notify_attempts = a.notify_attempts + 1, last_error = $error",
        {"error": error},
    )


def pending_anomalies(
    conn: duckdb.DuckDBPyConnection, max_attempts: int = 5, since: dt.date | None = None
) -> list[Anomaly]:
    """Anomalies never notified that have had fewer than `max_attempts` delivery attempts
    (optionally only days on or after `since`), oldest day first."""
    ensure_alerts_table(conn)
    rows = conn.execute(
        f"""
        SELECT {", ".join(ALERT_FIELDS)} FROM {ALERTS_TABLE}
        WHERE notified_at IS NULL AND notify_attempts < $max
          AND ($since IS NULL OR day >= $since)
        ORDER BY day, rule, entity
        """,
        {"max": max_attempts, "since": since},
    ).fetchall()
    return [Anomaly(*row) for row in rows]
