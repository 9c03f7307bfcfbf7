"""Alerting in Dagster: the KPI anomaly asset and the sensors that notify on failures."""

import dagster as dg

from datatrendz_pipelines.ingestion.assets import WAREHOUSE_POOL
from datatrendz_pipelines.metadata import markdown_table
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.resources import WarehouseResource
from datatrendz_pipelines.retries import TRANSIENT_RETRY

ALERTS_KEY = dg.AssetKey(["meta", "alerts"])


def build_alerts_asset(
    upstream: list[dg.AssetKey], partitions_def: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    @dg.asset(
        key=ALERTS_KEY,
        deps=upstream,
        description=(
            "KPI anomaly rules (revenue outside the forecast interval, traffic or conversion "
            "spikes and drops against the same weekday, low stock, data-volume drops) run over "
            "the partition's days. Every anomaly is a row of `meta.alerts`; new ones are sent "
            "once to the configured webhook and e-mail channels and to the run log."
        ),
        group_name="alerting",
        kinds={"duckdb", "slack"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        # Sending retries on its own and never repeats a notification (meta.alerts records each
        # one), so a step retry after a dropped webhook or SMTP connection sends nothing twice.
        retry_policy=TRANSIENT_RETRY,
    )
    def alerts(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        from datatrendz_pipelines.alerting.dispatch import dispatch_alerts
        from datatrendz_pipelines.alerting.rules import evaluate_rules

        window = context.partition_time_window
        days = days_in_window(window.start, window.end)
        with warehouse.connect() as conn:
            found = evaluate_rules(conn, days)
            sent, report = dispatch_alerts(conn, found.anomalies, log=context.log.warning)
        by_rule: dict[str, int] = {}
        for anomaly in found.anomalies:
            by_rule[anomaly.rule] = by_rule.get(anomaly.rule, 0) + 1
        worst = sorted(
            found.anomalies,
            key=lambda a: ("info", "warning", "critical").index(a.severity),
            reverse=True,
        )[:10]
        return dg.MaterializeResult(
            metadata={
                "anomalies": len(found.anomalies),
                "by_rule": dg.MetadataValue.json(by_rule),
                "newly_notified": len(sent),
                "delivery_error": report.error or "",
                "not_checked": dg.MetadataValue.json(found.notes[:20]),
                "rule_errors": dg.MetadataValue.json(found.errors),
                "most_severe": dg.MetadataValue.md(
                    markdown_table(
                        ["rule", "entity", "day", "severity", "message"],
                        [(a.rule, a.entity, a.day, a.severity, a.message) for a in worst],
                    )
                ),
            }
        )

    return alerts


def _run_link(base_url: str, run_id: str) -> str:
    return f"{base_url.rstrip('/')}/runs/{run_id}"


def build_failure_sensors(webserver_url: str) -> list[dg.SensorDefinition]:
    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Notifies the alert channels when any run fails, with a link to the run.",
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext) -> None:
        from datatrendz_pipelines.alerting.notify import notify_event

        run = context.dagster_run
        error = context.failure_event.message or "no message"
        notify_event(
            f"Run failed: {run.job_name}",
            f"Run {run.run_id} of {run.job_name} failed: {error}",
            link=_run_link(webserver_url, run.run_id),
            log=context.log.warning,
        )

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="failed_check_alert_sensor",
        monitor_all_code_locations=False,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "A run can succeed while a check fails (freshness, warnings with ERROR severity): "
            "notifies the alert channels of every ERROR check that failed in a successful run."
        ),
    )
    def failed_check_alert_sensor(context: dg.RunStatusSensorContext) -> None:
        from datatrendz_pipelines.alerting.notify import notify_event

        run = context.dagster_run
        records = context.instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        failed = []
        for record in records:
            evaluation = record.event_log_entry.dagster_event.event_specific_data
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                failed.append(f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name}")
        if failed:
            notify_event(
                f"{len(failed)} check(s) failed in {run.job_name}",
                "\n".join(failed[:25]),
                link=_run_link(webserver_url, run.run_id),
                log=context.log.warning,
            )

    return [run_failure_alert_sensor, failed_check_alert_sensor]
