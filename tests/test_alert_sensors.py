"""The failure sensors post to the alert webhook: a failed run, and a failed check in a good run."""

from __future__ import annotations

import json

import dagster as dg

from datatrendz_pipelines.alerting.assets import build_failure_sensors


@dg.asset
def broken() -> None:
    raise RuntimeError("the warehouse is on fire")


@dg.asset(check_specs=[dg.AssetCheckSpec("fresh_enough", asset="stale")])
def stale() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="fresh_enough", passed=False, severity=dg.AssetCheckSeverity.ERROR
            )
        ]
    )


def sensors() -> dict[str, dg.SensorDefinition]:
    return {s.name: s for s in build_failure_sensors("http://dagster.example:3000")}


def test_a_failed_run_is_sent_with_its_link(webhook, monkeypatch):
    monkeypatch.setenv("DATATRENDZ_ALERT_WEBHOOK_URL", webhook.url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([broken], instance=instance, raise_on_error=False)
        failure = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor",
            dagster_event=failure,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        ).for_run_failure()
        sensors()["run_failure_alert_sensor"](context)

    (post,) = webhook.posts
    text = json.dumps(post)
    assert "Run failed" in text and result.run_id in text
    assert f"http://dagster.example:3000/runs/{result.run_id}" in text


def test_a_failed_error_check_in_a_successful_run_is_sent(webhook, monkeypatch):
    monkeypatch.setenv("DATATRENDZ_ALERT_WEBHOOK_URL", webhook.url)
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([stale], instance=instance, raise_on_error=False)
        assert result.success
        success = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS
        )
        context = dg.build_run_status_sensor_context(
            sensor_name="failed_check_alert_sensor",
            dagster_event=success,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        sensors()["failed_check_alert_sensor"](context)

    (post,) = webhook.posts
    assert "stale: fresh_enough" in json.dumps(post)
