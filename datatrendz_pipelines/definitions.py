"""The code location: one Definitions object that assembles every stage."""

from __future__ import annotations

import os

import dagster as dg

from datatrendz_pipelines.automation.schedules import build_daily_schedule, build_freshness_checks
from datatrendz_pipelines.automation.sensors import build_landing_sensor
from datatrendz_pipelines.ingestion.assets import build_raw_assets
from datatrendz_pipelines.partitions import daily_partitions
from datatrendz_pipelines.publishing.assets import PublishTargetResource, build_publish_assets
from datatrendz_pipelines.resources import LandingZoneResource, WarehouseResource
from datatrendz_pipelines.settings import Settings
from datatrendz_pipelines.warehouse.assets import build_dbt_assets
from datatrendz_pipelines.warehouse.project import dbt_cli, dbt_project


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions = daily_partitions(settings)
    raw_assets = build_raw_assets(partitions, settings)
    warehouse_models = build_dbt_assets(partitions)
    daily_pipeline_job = dg.define_asset_job(
        "daily_pipeline_job",
        selection=dg.AssetSelection.all(),
        description="Builds one day (or a range of days) end to end: landing files -> raw -> dbt marts and KPIs.",
    )
    kpi_keys = sorted(key for key in warehouse_models.keys if key.path[0] == "kpi")
    published = build_publish_assets(kpi_keys, partitions)
    freshness_checks = build_freshness_checks([a.key for a in published], settings)
    return dg.Definitions(
        assets=[*raw_assets, warehouse_models, *published],
        asset_checks=freshness_checks,
        jobs=[daily_pipeline_job],
        schedules=[build_daily_schedule(daily_pipeline_job, settings)],
        sensors=[
            build_landing_sensor(daily_pipeline_job, settings),
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
