"""Non-secret settings, each from one environment variable with a default under DATATRENDZ_HOME.

Secrets (passwords, webhook URLs) never come through here: resources read them with `dg.EnvVar`.
"""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_dir: Path
    archive_dir: Path
    rejected_dir: Path
    demo_dir: Path
    warehouse_path: Path
    lake_dir: Path
    mlflow_tracking_uri: str
    mlflow_ui_url: str
    webserver_url: str
    partitions_start: dt.date
    duckdb_threads: int
    duckdb_memory_limit: str
    quarantine_threshold: float
    gx_max_rows: int
    timezone: str
    daily_run_at: dt.time
    kpi_deadline: dt.time
    landing_quiet_seconds: float

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        home = Path(env.get("DATATRENDZ_HOME") or PROJECT_ROOT / ".datatrendz").resolve()

        def path(var: str, default: Path) -> Path:
            return Path(env[var]).resolve() if env.get(var) else default

        start = env.get("DATATRENDZ_PARTITIONS_START", "2024-01-01")
        try:
            partitions_start = dt.date.fromisoformat(start)
        except ValueError as exc:
            raise ValueError(
                f"DATATRENDZ_PARTITIONS_START must be a date like 2024-01-01, got {start!r}"
            ) from exc
        threads = env.get("DATATRENDZ_DUCKDB_THREADS", "2")
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(
                f"DATATRENDZ_DUCKDB_THREADS must be a positive integer, got {threads!r}"
            )
        threshold = env.get("DATATRENDZ_QUARANTINE_THRESHOLD", "0.05")
        try:
            quarantine_threshold = float(threshold)
        except ValueError:
            quarantine_threshold = -1.0
        if not 0 <= quarantine_threshold <= 1:
            raise ValueError(
                f"DATATRENDZ_QUARANTINE_THRESHOLD must be a share between 0 and 1, got {threshold!r}"
            )
        gx_max_rows = env.get("DATATRENDZ_GX_MAX_ROWS", "500000").replace("_", "")
        if not gx_max_rows.isdigit():
            raise ValueError(
                "DATATRENDZ_GX_MAX_ROWS must be a whole number of rows (0 = every row), "
                f"got {env.get('DATATRENDZ_GX_MAX_ROWS')!r}"
            )
        timezone = env.get("DATATRENDZ_TIMEZONE", "UTC")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"DATATRENDZ_TIMEZONE is not a known time zone: {timezone!r}") from exc
        quiet = env.get("DATATRENDZ_LANDING_QUIET_SECONDS", "30")
        if not quiet.replace(".", "", 1).isdigit():
            raise ValueError(
                f"DATATRENDZ_LANDING_QUIET_SECONDS must be a number of seconds, got {quiet!r}"
            )
        return cls(
            home=home,
            landing_dir=path("DATATRENDZ_LANDING_DIR", home / "landing"),
            archive_dir=path("DATATRENDZ_ARCHIVE_DIR", home / "archive"),
            rejected_dir=path("DATATRENDZ_REJECTED_DIR", home / "rejected"),
            demo_dir=home / "demo",
            warehouse_path=path("DATATRENDZ_WAREHOUSE_PATH", home / "warehouse.duckdb"),
            lake_dir=path("DATATRENDZ_LAKE_DIR", home / "lake"),
            mlflow_tracking_uri=env.get("MLFLOW_TRACKING_URI")
            or f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
            mlflow_ui_url=env.get("DATATRENDZ_MLFLOW_UI_URL", "http://127.0.0.1:5000"),
            webserver_url=env.get("DATATRENDZ_WEBSERVER_URL", "http://127.0.0.1:3000"),
            partitions_start=partitions_start,
            duckdb_threads=int(threads),
            duckdb_memory_limit=env.get("DATATRENDZ_DUCKDB_MEMORY_LIMIT", "2GB"),
            quarantine_threshold=quarantine_threshold,
            gx_max_rows=int(gx_max_rows),
            timezone=timezone,
            daily_run_at=_time_of_day(env, "DATATRENDZ_DAILY_RUN_AT", "02:30"),
            kpi_deadline=_time_of_day(env, "DATATRENDZ_KPI_DEADLINE", "06:00"),
            landing_quiet_seconds=float(quiet),
        )


def _time_of_day(env: Mapping[str, str], var: str, default: str) -> dt.time:
    value = env.get(var, default)
    try:
        return dt.time.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{var} must be a time of day like {default}, got {value!r}") from exc
