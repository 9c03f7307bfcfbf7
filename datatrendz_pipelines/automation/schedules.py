"""Schedules: the daily build of yesterday's partition, at a configurable time and time zone."""

from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from datatrendz_pipelines.settings import Settings


def build_daily_schedule(
    job: "UnresolvedAssetJobDefinition", settings: Settings
) -> dg.ScheduleDefinition:
    """Runs `job` every day at DATATRENDZ_DAILY_RUN_AT (DATATRENDZ_TIMEZONE) for the day before."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="daily_pipeline_schedule",
        description=(
            f"Builds yesterday end to end every day at {settings.daily_run_at:%H:%M} "
            f"{settings.timezone}: raw -> quality gate -> dbt -> KPIs."
        ),
        hour_of_day=settings.daily_run_at.hour,
        minute_of_hour=settings.daily_run_at.minute,
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )


def build_weekly_training_schedule(
    job: "UnresolvedAssetJobDefinition", settings: Settings
) -> dg.ScheduleDefinition:
    """Retrains the forecasters every Monday, an hour after the daily build."""
    run_at = settings.daily_run_at
    return dg.ScheduleDefinition(
        name="weekly_training_schedule",
        job=job,
        cron_schedule=f"{run_at.minute} {(run_at.hour + 1) % 24} * * 1",
        execution_timezone=settings.timezone,
        description="Retrains, backtests and registers the forecasters every Monday.",
        default_status=dg.DefaultScheduleStatus.STOPPED,
    )


def build_freshness_checks(
    kpi_keys: list[dg.AssetKey], settings: Settings
) -> list[dg.AssetChecksDefinition]:
    """The KPI tables must hold yesterday's partition by DATATRENDZ_KPI_DEADLINE."""
    deadline = settings.kpi_deadline
    return list(
        dg.build_time_partition_freshness_checks(
            assets=kpi_keys,
            deadline_cron=f"{deadline.minute} {deadline.hour} * * *",
            timezone=settings.timezone,
            severity=dg.AssetCheckSeverity.ERROR,
        )
    )
