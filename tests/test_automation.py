"""The landing-zone sensor across ticks, and the daily schedule's partition."""

from __future__ import annotations

import datetime as dt
import json
import os
import time

import dagster as dg
import pytest

from datatrendz_pipelines.automation.landing_watch import SeenFile, plan_day_runs
from datatrendz_pipelines.definitions import build_definitions

DAY = dt.date(2025, 3, 1)


def seen(path: str, size: int = 100, age: float = 60.0, now: float = 1_000_000.0) -> SeenFile:
    day = dt.date.fromisoformat(path.split("date=")[1][:10])
    return SeenFile(path, day, size, now - age)


@pytest.mark.parametrize(
    ("files", "previous", "ready"),
    [
        ([seen("orders/date=2025-03-01/a.csv")], {}, ["orders/date=2025-03-01/a.csv"]),
        # modified a moment ago: the sender may still be writing
        ([seen("orders/date=2025-03-01/a.csv", age=2)], {}, []),
        # grew since the last look
        (
            [seen("orders/date=2025-03-01/a.csv", size=200)],
            {"orders/date=2025-03-01/a.csv": 100},
            [],
        ),
    ],
)
def test_only_settled_files_are_ready(files, previous, ready):
    runs, sizes = plan_day_runs(files, previous, now=1_000_000.0, quiet_seconds=30)
    assert [f.path for r in runs for f in r.files] == ready
    assert sizes == {f.path: f.size for f in files}


def test_run_key_names_the_files_so_a_new_file_reruns_its_day():
    first = plan_day_runs([seen("orders/date=2025-03-01/a.csv")], {}, 1_000_000.0, 30)[0]
    again = plan_day_runs([seen("orders/date=2025-03-01/a.csv")], {}, 1_000_000.0, 30)[0]
    late = plan_day_runs([seen("orders/date=2025-03-01/late.csv")], {}, 1_000_000.0, 30)[0]
    assert first[0].run_key == again[0].run_key
    assert first[0].run_key != late[0].run_key and late[0].day == DAY


def drop(settings, source: str, day: str, name: str, age: float = 120.0) -> None:
    path = settings.landing_dir / source / f"date={day}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("order_id\nO1\n")
    past = time.time() - age
    os.utime(path, (past, past))


def tick(sensor, defs, instance, cursor):
    context = dg.build_sensor_context(
        cursor=cursor,
        instance=instance,
        resources={"landing_zone": defs.resources["landing_zone"]},
        repository_def=defs.get_repository_def(),
    )
    result = sensor(context)
    return result, result.cursor


def test_the_sensor_across_ticks_new_half_written_late_and_restart(settings):
    defs = build_definitions(settings)
    sensor = defs.get_sensor_def("landing_zone_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        drop(settings, "orders", "2025-03-01", "pos.csv")
        drop(settings, "orders", "2025-03-02", "pos.csv.tmp")  # half-written
        drop(settings, "orders", "2025-03-02", "web.csv", age=1)  # just modified
        result, cursor = tick(sensor, defs, instance, None)
        assert [r.partition_key for r in result.run_requests] == ["2025-03-01"]
        first_key = result.run_requests[0].run_key

        # A restarted daemon resumes from the saved cursor: the same files give the same run key,
        # which Dagster will not launch twice.
        result, cursor = tick(sensor, defs, instance, cursor)
        keys = {r.partition_key: r.run_key for r in result.run_requests}
        assert keys["2025-03-01"] == first_key
        assert json.loads(cursor)["orders/date=2025-03-01/pos.csv"] > 0

        # Once loaded, files move to the archive; a late file for that day starts it again.
        (settings.landing_dir / "orders/date=2025-03-01/pos.csv").unlink()
        drop(settings, "orders", "2025-03-01", "late.csv")
        result, cursor = tick(sensor, defs, instance, cursor)
        late = {r.partition_key: r.run_key for r in result.run_requests}
        assert late["2025-03-01"] != first_key
        assert all(
            r.tags["datatrendz/trigger"] == "landing_zone_sensor" for r in result.run_requests
        )


def test_the_sensor_skips_when_there_is_nothing_new(settings):
    defs = build_definitions(settings)
    sensor = defs.get_sensor_def("landing_zone_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        result, _ = tick(sensor, defs, instance, None)
    assert not result.run_requests and "no new files" in result.skip_reason.skip_message


def test_the_daily_schedule_builds_yesterday(settings, monkeypatch):
    monkeypatch.setenv("DATATRENDZ_DAILY_RUN_AT", "03:15")
    from datatrendz_pipelines.settings import Settings

    defs = build_definitions(Settings.from_env())
    schedule = defs.get_schedule_def("daily_pipeline_schedule")
    assert schedule.cron_schedule == "15 3 * * *"
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(
            instance=instance,
            scheduled_execution_time=dt.datetime(2025, 3, 2, 3, 15, tzinfo=dt.UTC),
            repository_def=defs.get_repository_def(),
        )
        (request,) = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2025-03-01"


def test_published_kpi_tables_have_freshness_checks(settings):
    defs = build_definitions(settings)
    checked = {key.asset_key.to_user_string() for c in defs.asset_checks for key in c.check_keys}
    assert {"analytics/kpi_daily_sales", "analytics/kpi_executive_summary"} <= checked
    assert not any(key.startswith("analytics/forecasts") for key in checked)


def report_model(instance, task: str, version: str, promoted: bool) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            asset_key=f"{task}_forecast_model",
            metadata={"model_version": version, "promoted_to_champion": promoted},
        )
    )


def test_a_new_champion_reforecasts_the_latest_day(settings):
    defs = build_definitions(settings)
    sensor = defs.get_sensor_def("revenue_champion_sensor")
    with dg.DagsterInstance.ephemeral() as instance:
        report_model(instance, "revenue", "2", promoted=False)
        context = dg.build_sensor_context(
            instance=instance, repository_def=defs.get_repository_def()
        )
        skipped = sensor.evaluate_tick(context)
        assert not skipped.run_requests and "not promoted" in skipped.skip_message

        report_model(instance, "revenue", "3", promoted=True)
        context.update_cursor(skipped.cursor)
        (request,) = sensor.evaluate_tick(context).run_requests
    assert request.run_key == "revenue-champion-3"
    targets = {k.to_user_string() for k in request.asset_selection}
    assert {
        "ml/forecasts_revenue",
        "analytics/kpi_revenue_vs_forecast",
        "analytics/forecasts_revenue",
    } <= targets
    assert "kpi/kpi_revenue_vs_forecast" not in targets  # a view: no dbt step needed
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    assert request.partition_key == yesterday.isoformat()
