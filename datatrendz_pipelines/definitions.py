"""The code location: one Definitions object that assembles every stage."""

from __future__ import annotations

import os
from functools import partial

from datatrendz_pipelines.batch_process import tune_gc_for_batch

# Every process that loads this code location builds the same large heap: a run's worker above
# all. Set before the imports below, whose growth would otherwise set off most full collections.
tune_gc_for_batch()

import dagster as dg

from datatrendz_pipelines.alerting.assets import build_alerts_asset, build_failure_sensors
from datatrendz_pipelines.automation.schedules import (
    build_daily_schedule,
    build_freshness_checks,
    build_weekly_training_schedule,
)
from datatrendz_pipelines.automation.sensors import build_landing_sensor
from datatrendz_pipelines.forecasting.assets import (
    FORECASTING_IMPORTS,
    TASKS,
    build_champion_sensor,
    build_forecasting_assets,
    champions_may_exist,
    forecasts_key,
    load_champions,
)
from datatrendz_pipelines.ingestion.assets import build_raw_assets
from datatrendz_pipelines.partitions import daily_partitions
from datatrendz_pipelines.preload import Preload
from datatrendz_pipelines.publishing.assets import PublishTargetResource, build_publish_assets
from datatrendz_pipelines.resources import LandingZoneResource, WarehouseResource
from datatrendz_pipelines.settings import Settings
from datatrendz_pipelines.warehouse.assets import build_dbt_assets, warm_dbt_when_selected
from datatrendz_pipelines.warehouse.project import dbt_cli, dbt_project


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions = daily_partitions(settings)
    models, forecasts = build_forecasting_assets(partitions, settings)
    dbt_step = build_dbt_assets(
        partitions,
        Preload(
            FORECASTING_IMPORTS,
            frozenset(key for a in forecasts for key in a.keys),
            then=partial(load_champions, settings.mlflow_tracking_uri),
            needed=partial(champions_may_exist, settings.mlflow_tracking_uri),
        ),
    )
    raw_sources = build_raw_assets(
        partitions, settings, on_start=warm_dbt_when_selected(frozenset(dbt_step.assets.keys))
    )
    kpi_keys = sorted(key for key in dbt_step.assets.keys if key.path[0] == "kpi")
    forecast_keys = [forecasts_key(task) for task in TASKS]
    published = build_publish_assets(
        [*kpi_keys, *forecast_keys], partitions, dbt_step.read_when_queried
    )
    alerts = build_alerts_asset([*kpi_keys, *forecast_keys], partitions)
    freshness_checks = build_freshness_checks(
        [a.key for a in published if a.key.path[-1].startswith("kpi_")], settings
    )
    daily_pipeline_job = dg.define_asset_job(
        "daily_pipeline_job",
        # Freshness checks are judged on the clock by their sensor, not inside the build.
        selection=dg.AssetSelection.all()
        - dg.AssetSelection.assets(*models)
        - dg.AssetSelection.checks(*freshness_checks),
        description=(
            "Builds one day (or a range of days) end to end: landing files -> raw -> quality "
            "gate -> dbt marts and KPIs -> forecasts with the champion -> published tables."
        ),
        tags={"datatrendz/writes": "daily_pipeline_job"},
    )
    weekly_training_job = dg.define_asset_job(
        "weekly_training_job",
        selection=dg.AssetSelection.assets(*models),
        description="Retrains, backtests and registers the forecasting models in MLflow.",
        tags={"datatrendz/writes": "weekly_training_job"},
    )
    return dg.Definitions(
        assets=[raw_sources, dbt_step.assets, *models, *forecasts, *published, alerts],
        asset_checks=freshness_checks,
        jobs=[daily_pipeline_job, weekly_training_job],
        schedules=[
            build_daily_schedule(daily_pipeline_job, settings),
            build_weekly_training_schedule(weekly_training_job, settings),
        ],
        sensors=[
            build_landing_sensor(daily_pipeline_job, settings),
            *build_failure_sensors(settings.webserver_url),
            *(build_champion_sensor(task, daily_pipeline_job, partitions) for task in TASKS),
            dg.build_sensor_for_freshness_checks(
                freshness_checks=freshness_checks,
                name="kpi_freshness_sensor",
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
        ],
        resources={
            "warehouse": WarehouseResource(
                path=str(settings.warehouse_path),
                threads=settings.duckdb_threads,
                memory_limit=settings.duckdb_memory_limit,
            ),
            "dbt": dbt_cli(dbt_project()),
            "publish_target": _publish_target(settings),
            "landing_zone": LandingZoneResource(
                landing_dir=str(settings.landing_dir),
                archive_dir=str(settings.archive_dir),
                rejected_dir=str(settings.rejected_dir),
            ),
        },
        # One process per run: on two cores a process per step mostly re-imports libraries.
        executor=dg.in_process_executor,
    )


def _publish_target(settings: Settings) -> PublishTargetResource:
    # Only the presence is checked here; the secret values are read at run time (EnvVar).
    def secret(var: str) -> dg.EnvVar | None:
        return dg.EnvVar(var) if os.environ.get(var) else None

    return PublishTargetResource(
        postgres_url=secret("DATATRENDZ_PUBLISH_URL"),
        writer_role=os.environ.get("DATATRENDZ_PUBLISH_ROLE") or None,
        lake_dir=str(settings.lake_dir),
        pii_salt=secret("DATATRENDZ_PII_SALT"),
    )


defs = build_definitions()
