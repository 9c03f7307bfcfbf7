"""The landing-zone sensor: new files start a run of the daily pipeline for their day."""

import datetime as dt
import json
import time
import zoneinfo
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

from datatrendz_pipelines.automation.landing_watch import plan_day_runs, scan
from datatrendz_pipelines.resources import LandingZoneResource
from datatrendz_pipelines.settings import Settings


def build_landing_sensor(
    job: "UnresolvedAssetJobDefinition", settings: Settings
) -> dg.SensorDefinition:
    quiet = settings.landing_quiet_seconds
    tz = zoneinfo.ZoneInfo(settings.timezone)

    @dg.sensor(
        name="landing_zone_sensor",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Starts the daily pipeline for each day that has new files in the landing zone, once "
            f"a file has stopped growing and has been quiet for {quiet:g}s. A late file for an "
            "old day re-runs that day and everything downstream."
        ),
    )
    def landing_zone_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingZoneResource):
        landing_dir = Path(landing_zone.landing_dir)
        previous = json.loads(context.cursor) if context.cursor else {}
        runs, sizes = plan_day_runs(scan(landing_dir), previous, time.time(), quiet)
        today = dt.datetime.now(tz).date()
        requests = []
        for run in runs:
            if not settings.partitions_start <= run.day <= today:
                context.log.warning(
                    f"{len(run.files)} file(s) for {run.day} lie outside the partitions "
                    f"({settings.partitions_start} .. {today}); set DATATRENDZ_PARTITIONS_START "
                    "earlier or move the files to the right date= folder"
                )
                continue
            requests.append(
                dg.RunRequest(
                    run_key=run.run_key,
                    partition_key=run.day.isoformat(),
                    tags={
                        "datatrendz/trigger": "landing_zone_sensor",
                        "datatrendz/files": str(len(run.files)),
                    },
                )
            )
        waiting = len(sizes) - sum(len(r.files) for r in runs)
        return dg.SensorResult(
            run_requests=requests,
            cursor=json.dumps(sizes, sort_keys=True),
            skip_reason=None
            if requests
            else (f"{waiting} file(s) still being written" if waiting else "no new files"),
        )

    return landing_zone_sensor
