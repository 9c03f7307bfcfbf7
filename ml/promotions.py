"""Promotion history: every alias move of a registered model, kept as rows.

One record per move of `champion` or `challenger` (new version, promotion, rollback), so the
champion on any day is the `to_version` of the latest `champion` record at or before it.
`record_promotions` appends the records to `ml.model_promotions` in a DuckDB warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

TABLE = "ml.model_promotions"
_DDL = f"""
create schema if not exists ml;
create table if not exists {TABLE} (
    model_name varchar not null,
    version varchar not null,
    alias varchar not null,
    from_version varchar,
    to_version varchar not null,
    mase double,
    baseline_mase double,
    promoted_at timestamp not null,
    dagster_run_id varchar
)
"""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class PromotionRecord:
    """Alias `alias` of `model_name` moved from `from_version` (None: unset) to `to_version`.

    `version` is the version the event is about (the new one, or the rollback target);
    `mase` / `baseline_mase` are that version's backtest figures; `promoted_at` is UTC.
    """

    model_name: str
    version: str
    alias: str
    from_version: str | None
    to_version: str
    mase: float | None = None
    baseline_mase: float | None = None
    dagster_run_id: str | None = None
    promoted_at: dt.datetime = field(default_factory=_now)

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row["promoted_at"] = self.promoted_at.isoformat()
        return row


def promotions_frame(records: list[PromotionRecord]) -> pd.DataFrame:
    """Records as a DataFrame with the table's columns."""
    columns = [
        "model_name",
        "version",
        "alias",
        "from_version",
        "to_version",
        "mase",
        "baseline_mase",
        "promoted_at",
        "dagster_run_id",
    ]
    return pd.DataFrame([asdict(r) for r in records], columns=columns)


def record_promotions(conn: Any, records: list[PromotionRecord]) -> int:
    """Append `records` to ml.model_promotions (created if missing); returns rows written."""
    conn.execute(_DDL)
    if not records:
        return 0
    rows = [
        (
            r.model_name,
            r.version,
            r.alias,
            r.from_version,
            r.to_version,
            r.mase,
            r.baseline_mase,
            r.promoted_at,
            r.dagster_run_id,
        )
        for r in records
    ]
    conn.executemany(f"insert into {TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def champion_on(conn: Any, model_name: str, day: dt.datetime | str) -> str | None:
    """Version that held `champion` at the end of `day` (UTC), from the history table."""
    row = conn.execute(
        f"""select to_version from {TABLE}
        where model_name = ? and alias = 'champion' and promoted_at < cast(? as date) + 1
        order by promoted_at desc limit 1""",
        [model_name, str(pd.Timestamp(day).date())],
    ).fetchone()
    return row[0] if row else None
