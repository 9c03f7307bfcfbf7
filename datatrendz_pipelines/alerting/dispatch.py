"""One alerting round: record anomalies, send the ones never notified, record the outcome."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from datatrendz_pipelines.alerting.anomaly import Anomaly
from datatrendz_pipelines.alerting.notify import (
    DeliveryReport,
    Log,
    NotifyChannels,
    send_notifications,
)
from datatrendz_pipelines.alerting.store import mark_failed, mark_notified, record_anomalies


def dispatch_alerts(
    conn: duckdb.DuckDBPyConnection,
    anomalies: Iterable[Anomaly],
    channels: NotifyChannels | None = None,
    log: Log | None = None,
) -> tuple[list[Anomaly], DeliveryReport]:
    """Record `anomalies` in meta.alerts, send those not yet notified, then mark them notified
    (some channel delivered; a partial failure is kept in last_error) or failed (attempts + 1,
    last_error). Returns (the anomalies sent, the report). Never raises for a failed send."""
    fresh = record_anomalies(conn, anomalies)
    if not fresh:
        return [], DeliveryReport()
    report = send_notifications(fresh, channels, log)
    if report.delivered:
        mark_notified(conn, fresh, error=report.error)
    else:
        mark_failed(conn, fresh, report.error or "no channel delivered")
    return fresh, report
