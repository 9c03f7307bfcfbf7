"""`make demo`: run the daily pipeline over every day of data as one run, then summarise."""

from __future__ import annotations

import datetime as dt
import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from datatrendz_pipelines.ingestion.landing import LandingZone
from datatrendz_pipelines.instance import RANGE_RUN_ENVIRONMENT, ensure_local_instance
from datatrendz_pipelines.settings import Settings

if TYPE_CHECKING:
    from dagster import AssetKey, Definitions, ExecuteInProcessResult

MAIN_JOB = "daily_pipeline_job"
TRAINING_JOB = "weekly_training_job"
# Dagster's console logger at INFO: the steps' progress, not every engine event.
CONSOLE_AT_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}


def range_tags(first: dt.date | None, last: dt.date | None) -> dict[str, str]:
    """The tags that make a run of a partitioned job cover the days first..last as one run."""
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    if not (first and last):
        return {}
    return {
        ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
    }


def days_with_data(zone: LandingZone) -> list[dt.date]:
    """Every day that has files, waiting in the landing zone or already archived."""
    archived = LandingZone(zone.archive_dir, zone.archive_dir, zone.rejected_dir)
    return sorted(set(zone.days_waiting()) | set(archived.days_waiting()))


def run_job(
    settings: Settings,
    job_name: str,
    first: dt.date | None = None,
    last: dt.date | None = None,
    defs: Definitions | None = None,
    asset_selection: Sequence[AssetKey] | None = None,
) -> ExecuteInProcessResult:
    """Run a job in-process on the local instance (so the run shows in `make dev` afterwards),
    for the days first..last as one run when the job is partitioned. `defs`: definitions
    already built from `settings` (else built here); `asset_selection`: only these assets of
    the job."""
    import dagster as dg

    from datatrendz_pipelines.definitions import build_definitions
    from datatrendz_pipelines.warehouse.assets import environment

    # The demo's console is for people: API-stability notices belong in the test suite.
    for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
        warnings.simplefilter("ignore", category)
    job = (defs or build_definitions(settings)).resolve_job_def(job_name)
    switches = {k: v for k, v in RANGE_RUN_ENVIRONMENT.items() if k not in os.environ}
    with environment(switches), dg.DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance,
            tags=range_tags(first, last),
            run_config=CONSOLE_AT_INFO,
            raise_on_error=False,
            asset_selection=asset_selection,
        )


def run_pipeline(
    settings: Settings, first: dt.date, last: dt.date, defs: Definitions | None = None
) -> ExecuteInProcessResult:
    return run_job(settings, MAIN_JOB, first, last, defs)


def reforecast(
    settings: Settings, day: dt.date, defs: Definitions | None = None
) -> ExecuteInProcessResult:
    """Forecast `day` again with the current champions and republish what reads the forecasts,
    as the champion sensors do after training promotes a model."""
    from datatrendz_pipelines.forecasting.assets import TASKS, reforecast_keys

    keys = [key for task in TASKS for key in reforecast_keys(task)]
    return run_job(settings, MAIN_JOB, day, day, defs, asset_selection=keys)


def _step(title: str, run: Callable[[], ExecuteInProcessResult]) -> bool:
    print(f"\n== {title}")
    started = time.perf_counter()
    ok = run().success
    print(f"== {title}: {'succeeded' if ok else 'FAILED'} in {time.perf_counter() - started:.1f}s")
    return ok


def run_demo(settings: Settings, generate: Callable[[], None]) -> int:
    from datatrendz_pipelines.definitions import build_definitions

    ensure_local_instance(settings)
    zone = LandingZone(settings.landing_dir, settings.archive_dir, settings.rejected_dir)
    if not days_with_data(zone):
        print(f"landing zone {settings.landing_dir} is empty: generating demo data")
        generate()
    days = days_with_data(zone)
    if days[0] < settings.partitions_start:
        raise SystemExit(
            f"data starts on {days[0]}, before DATATRENDZ_PARTITIONS_START={settings.partitions_start}: "
            "set DATATRENDZ_PARTITIONS_START to that day or earlier"
        )
    first, last = days[0], days[-1]
    defs = build_definitions(settings)  # once for the three runs
    ok = (
        _step(
            f"{MAIN_JOB} for {first} .. {last} ({len(days)} days) as one run",
            lambda: run_pipeline(settings, first, last, defs),
        )
        and _step(
            f"{TRAINING_JOB}: train, backtest and register the forecasters",
            lambda: run_job(settings, TRAINING_JOB, defs=defs),
        )
        and _step(
            f"forecasts for {last} again with the new champions, published",
            lambda: reforecast(settings, last, defs),
        )
    )
    print_summary(settings)
    return 0 if ok else 1


def table_counts(warehouse: Path) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every table in the warehouse, read-only."""
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        tables = conn.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() ORDER BY schema_name, table_name"
        ).fetchall()
        return [
            (
                schema,
                table,
                conn.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0],
            )
            for schema, table in tables
        ]


def print_summary(settings: Settings) -> None:
    if not settings.warehouse_path.exists():
        print(f"no warehouse at {settings.warehouse_path} yet: run `make demo`")
        return
    counts = table_counts(settings.warehouse_path)
    print("\nTables built:")
    schema_width = max(len(s) + len(t) + 1 for s, t, _ in counts)
    for schema, table, rows in counts:
        print(f"  {f'{schema}.{table}':<{schema_width}}  {rows:>12,} rows")
    rejected = (
        sorted(settings.rejected_dir.rglob("*.reason.txt"))
        if settings.rejected_dir.exists()
        else []
    )
    print(f"\nWarehouse file:   {settings.warehouse_path}")
    print(f"Rejected files:   {len(rejected)} (in {settings.rejected_dir})")
    print("Open the UI:      make dev   (then http://127.0.0.1:3000)")
    print(
        f"Query with SQL:   .venv/bin/python -c \"import duckdb; duckdb.connect('{settings.warehouse_path}', read_only=True).sql('FROM raw.orders LIMIT 5').show()\""
    )
