"""Per-day checks of a loaded source, computed in DuckDB from raw, quarantine and the load log.

Each function takes the days just loaded and returns one finding per day that fails, so a
single-run backfill of many days reports exactly which days are wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.ingestion.tables import ident


@dataclass(frozen=True)
class DayCounts:
    day: dt.date
    rows_read: int
    rows_raw: int
    rows_quarantined: int

    @property
    def reconciles(self) -> bool:
        return self.rows_read == self.rows_raw + self.rows_quarantined

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


@dataclass(frozen=True)
class VolumeFinding:
    day: dt.date
    rows: int
    expected_low: float | None
    expected_high: float | None
    problem: str  # "empty" | "low" | "high"


def day_counts(
    conn: duckdb.DuckDBPyConnection, source: str, days: list[dt.date]
) -> list[DayCounts]:
    """Rows read from the files (load log), left in raw and quarantined, for each day."""
    table = ident(source)
    rows = conn.execute(
        f"""
        WITH d AS (SELECT unnest($days)::DATE AS day),
        r AS (SELECT _partition_date AS day, count(*) AS n FROM raw.{table}
              WHERE _partition_date IN (SELECT day FROM d) GROUP BY ALL),
        q AS (SELECT _partition_date AS day, count(*) AS n FROM quarantine.{table}
              WHERE _partition_date IN (SELECT day FROM d) GROUP BY ALL),
        l AS (SELECT partition_date AS day, sum(rows_read) AS n FROM meta.raw_loads
              WHERE source = $source AND partition_date IN (SELECT day FROM d) GROUP BY ALL)
        SELECT d.day, coalesce(l.n, 0), coalesce(r.n, 0), coalesce(q.n, 0)
        FROM d LEFT JOIN l USING (day) LEFT JOIN r USING (day) LEFT JOIN q USING (day)
        ORDER BY d.day
        """,
        {"days": days, "source": source},
    ).fetchall()
    return [DayCounts(day, int(read), int(raw), int(quar)) for day, read, raw, quar in rows]


def volume_findings(
    conn: duckdb.DuckDBPyConnection, contract: Contract, days: list[dt.date]
) -> list[VolumeFinding]:
    """Days whose row count is empty (for a required source) or outside the contract's band
    around the trailing average of the previous `window_days` days that had data."""
    findings: list[VolumeFinding] = []
    band = contract.volume
    counts = {c.day: c.rows_read for c in day_counts(conn, contract.source, days)}
    if contract.required:
        findings += [VolumeFinding(d, 0, None, None, "empty") for d, n in counts.items() if n == 0]
    if band is None:
        return findings
    history = conn.execute(
        """
        WITH daily AS (
            SELECT partition_date AS day, sum(rows_read) AS n FROM meta.raw_loads
            WHERE source = $source GROUP BY ALL
        )
        SELECT t.day, avg(h.n), count(h.n)
        FROM (SELECT unnest($days)::DATE AS day) t
        JOIN daily h ON h.day < t.day AND h.day >= t.day - $window::INTEGER
        GROUP BY t.day
        """,
        {"source": contract.source, "days": days, "window": band.window_days},
    ).fetchall()
    # A week of history is the least that makes an average worth comparing to.
    for day, average, n_days in history:
        if n_days < 7 or counts.get(day, 0) == 0:
            continue
        low, high = band.min_ratio * average, band.max_ratio * average
        rows = counts[day]
        if rows < low or rows > high:
            findings.append(
                VolumeFinding(
                    day, rows, round(low, 1), round(high, 1), "low" if rows < low else "high"
                )
            )
    return sorted(findings, key=lambda f: f.day)
