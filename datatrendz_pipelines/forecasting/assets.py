"""Forecasting assets: weekly training into the MLflow registry, daily forecasts with the champion,
and accuracy monitoring of past forecasts against what actually happened."""

import datetime as dt
import time
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field

from datatrendz_pipelines.forecasting.store import (
    ensure_forecast_table,
    forecast_table,
    matured_forecasts,
    write_forecasts,
)
from datatrendz_pipelines.ingestion.assets import WAREHOUSE_POOL
from datatrendz_pipelines.metadata import markdown_table
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.resources import WarehouseResource
from datatrendz_pipelines.retries import TRANSIENT_RETRY
from datatrendz_pipelines.settings import Settings

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

TASKS = ("revenue", "demand")
HISTORY_ASSETS = [
    dg.AssetKey(["kpi", "kpi_daily_sales"]),
    dg.AssetKey(["core", "dim_date"]),
    dg.AssetKey(["core", "fct_orders"]),
]


class TrainingConfig(dg.Config):
    n_threads: int = Field(
        default=1,
        description="OpenMP threads for gradient boosting (1 is fastest on a shared 2-core machine).",
    )
    n_cutoffs: int = Field(
        default=4, description="Rolling-origin backtest cut-offs, 28 days apart."
    )


class AccuracyConfig(dg.Config):
    window_days: int = Field(default=28, description="Days of matured forecasts to score.")
    max_wape: float = Field(default=0.35, description="WAPE above this flags degradation.")
    min_coverage: float = Field(
        default=0.6, description="80% interval coverage below this flags degradation."
    )


def model_key(task: str) -> dg.AssetKey:
    return dg.AssetKey(f"{task}_forecast_model")


def forecasts_key(task: str) -> dg.AssetKey:
    return dg.AssetKey(["ml", f"forecasts_{task}"])


def build_model_asset(task: str, settings: Settings) -> dg.AssetsDefinition:
    @dg.asset(
        key=model_key(task),
        deps=HISTORY_ASSETS,
        description=(
            f"The {task} forecaster: trained on all history, backtested on rolling origins "
            "against the seasonal naive, logged and registered in MLflow. Every version gets the "
            "alias `challenger`; `champion` moves only to a version that beats the current one."
        ),
        group_name="forecasting",
        kinds={"mlflow", "scikit-learn"},
        # It reads the history and records alias moves in the warehouse.
        pool=WAREHOUSE_POOL,
        retry_policy=TRANSIENT_RETRY,
    )
    def forecast_model(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: TrainingConfig
    ) -> dg.MaterializeResult:
        from ml.data import load_history
        from ml.promotions import record_promotions
        from ml.registry import train_and_register

        with warehouse.connect() as conn:
            history = load_history(conn, task)
        if history.empty:
            raise dg.Failure(
                f"no {task} history in the warehouse yet: run daily_pipeline_job first"
            )
        context.log.info(
            f"training {task}: {history['series_id'].nunique()} series, {len(history)} rows"
        )
        result = train_and_register(
            task,
            history,
            settings.mlflow_tracking_uri,
            run_tags={"dagster_run_id": context.run.run_id, "dagster_job": context.run.job_name},
            n_threads=config.n_threads,
            n_cutoffs=config.n_cutoffs,
            ui_base_url=settings.mlflow_ui_url,
        )
        with warehouse.connect() as conn:
            record_promotions(conn, result.promotions)
        metrics = {k: round(v, 4) for k, v in result.metrics.items() if isinstance(v, int | float)}
        return dg.MaterializeResult(
            metadata={
                "model_version": result.version,
                "promoted_to_champion": result.promoted,
                "previous_champion": result.previous_champion or "none",
                "mlflow_run": dg.MetadataValue.url(result.ui_url),
                "model_uri": result.model_uri,
                "metrics": dg.MetadataValue.json(metrics),
                "seconds": dg.MetadataValue.json(
                    {k: round(v, 1) for k, v in result.seconds.items()}
                ),
            }
        )

    return forecast_model


# What the forecasting steps import first (8 s on two cores): the main dbt step of a run that
# forecasts imports them while dbt builds, then loads the champions (`load_champions`; see
# datatrendz_pipelines/preload.py).
FORECASTING_IMPORTS = (
    "mlflow",
    "mlflow.pyfunc",
    "sklearn.ensemble",
    "skops.io",
    "ml.registry",
    "ml.forecast",
    "ml.pyfunc_model",
)


def champions_may_exist(tracking_uri: str) -> bool:
    """False until the first training creates the MLflow store: the forecasts then find no
    champion and stop before importing MLflow, so nothing is to be preloaded for them."""
    from ml.tracking import store_is_missing

    return not store_is_missing(tracking_uri)


def load_champions(tracking_uri: str) -> None:
    """Load every task's champion into this process's cache, as the forecasts will."""
    from ml.registry import load_champion

    for task in TASKS:
        load_champion(task, tracking_uri)


def build_forecasts_asset(
    task: str, partitions_def: dg.PartitionsDefinition, settings: Settings
) -> dg.AssetsDefinition:
    @dg.asset(
        key=forecasts_key(task),
        deps=[dg.AssetKey(["kpi", "kpi_daily_sales"]), model_key(task)],
        description=(
            f"28-day {task} forecasts with an 80% interval for every series, made with the "
            f"champion model from the history up to the partition's day, in `{forecast_table(task)}` "
            "(one set per forecast origin, kept for accuracy monitoring)."
        ),
        group_name="forecasting",
        kinds={"mlflow", "duckdb"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        retry_policy=TRANSIENT_RETRY,
    )
    def forecasts(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        from ml.data import load_history
        from ml.forecast import forecast_with_champion
        from ml.registry import champion_version

        window = context.partition_time_window
        origin = days_in_window(window.start, window.end)[-1]
        with warehouse.connect() as conn:
            ensure_forecast_table(conn, task)
            if champion_version(task, settings.mlflow_tracking_uri) is None:
                context.log.warning(
                    f"no {task} champion in MLflow yet: materialize {model_key(task).to_user_string()} "
                    "(weekly_training_job) and forecasts will follow"
                )
                return dg.MaterializeResult(metadata={"dagster/row_count": 0, "champion": "none"})
            history = load_history(conn, task, end=origin.isoformat())
            started = time.perf_counter()
            frame = forecast_with_champion(task, history, settings.mlflow_tracking_uri)
            rows = write_forecasts(conn, task, origin, frame, context.run.run_id)
        head = frame.sort_values(["series_id", "date"]).head(5)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "forecast_origin": origin.isoformat(),
                "model_version": str(frame["model_version"].iloc[0]),
                "series": int(frame["series_id"].nunique()),
                "seconds": round(time.perf_counter() - started, 2),
                "preview": dg.MetadataValue.md(
                    markdown_table(list(head.columns), head.round(2).values.tolist())
                ),
            }
        )

    return forecasts


def build_accuracy_asset(task: str, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    key = dg.AssetKey(["ml", f"forecast_accuracy_{task}"])
    check_name = f"{task}_forecast_accuracy_holds"

    @dg.asset(
        key=key,
        deps=[forecasts_key(task), dg.AssetKey(["kpi", "kpi_daily_sales"])],
        description=(
            f"Realised accuracy of past {task} forecasts, per day, once the actuals are in: WAPE, "
            "bias and 80% interval coverage of the forecast made the latest before each day."
        ),
        group_name="forecasting",
        kinds={"duckdb"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                check_name,
                asset=key,
                description=(
                    "Forecasts of the last window of days keep WAPE and interval coverage within bounds."
                ),
            )
        ],
    )
    def forecast_accuracy(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: AccuracyConfig
    ) -> dg.MaterializeResult:
        from ml.data import load_history
        from ml.forecast import accuracy_report

        window = context.partition_time_window
        last = days_in_window(window.start, window.end)[-1]
        first = last - dt.timedelta(days=config.window_days - 1)
        with warehouse.connect() as conn:
            past = matured_forecasts(conn, task, first, last)
            actuals = load_history(conn, task, start=first.isoformat(), end=last.isoformat())
            report = accuracy_report(past, actuals) if not past.empty else past
            conn.register("_accuracy", report)
            conn.execute(
                f"CREATE OR REPLACE TABLE ml.forecast_accuracy_{task} AS SELECT * FROM _accuracy"
            )
            conn.unregister("_accuracy")
        scored = len(report)
        if scored:
            total_y = float(report["y"].sum())
            wape = float((report["wape"] * report["y"]).sum() / total_y) if total_y else 0.0
            coverage = float(report["coverage"].mean())
            degraded = wape > config.max_wape or coverage < config.min_coverage
        else:
            wape = coverage = float("nan")
            degraded = False
        summary = {"days_scored": scored, "wape": round(wape, 4), "coverage": round(coverage, 4)}
        return dg.MaterializeResult(
            metadata={"dagster/row_count": scored, **summary},
            check_results=[
                dg.AssetCheckResult(
                    check_name=check_name,
                    passed=not degraded,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={
                        **summary,
                        "max_wape": config.max_wape,
                        "min_coverage": config.min_coverage,
                    },
                    description="forecast accuracy degraded: consider retraining"
                    if degraded
                    else None,
                )
            ],
        )

    return forecast_accuracy


def build_forecasting_assets(
    partitions_def: dg.PartitionsDefinition, settings: Settings
) -> tuple[list[dg.AssetsDefinition], list[dg.AssetsDefinition]]:
    """(model assets, daily forecast and accuracy assets)."""
    models = [build_model_asset(task, settings) for task in TASKS]
    daily = [
        a
        for task in TASKS
        for a in (
            build_forecasts_asset(task, partitions_def, settings),
            build_accuracy_asset(task, partitions_def),
        )
    ]
    return models, daily


def reforecast_keys(task: str) -> list[dg.AssetKey]:
    """What a new `task` champion changes for a day: its forecasts, their accuracy and the
    published tables that read them. Nothing upstream (raw, dbt) needs to run again."""
    keys = [
        forecasts_key(task),
        dg.AssetKey(["ml", f"forecast_accuracy_{task}"]),
        dg.AssetKey(["analytics", f"forecasts_{task}"]),
    ]
    if task == "revenue":
        # kpi.kpi_revenue_vs_forecast is a view over the forecasts: only its published copy.
        keys.append(dg.AssetKey(["analytics", "kpi_revenue_vs_forecast"]))
    return keys


def build_champion_sensor(
    task: str,
    job: "UnresolvedAssetJobDefinition",
    partitions_def: dg.TimeWindowPartitionsDefinition,
) -> dg.SensorDefinition:
    """When training promotes a new champion, forecast again with it for the latest day, and
    republish what reads the forecasts."""
    targets = reforecast_keys(task)

    @dg.asset_sensor(
        asset_key=model_key(task),
        job=job,
        name=f"{task}_champion_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Re-forecasts the latest day when a new {task} champion is promoted.",
    )
    def champion_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
        materialization = asset_event.asset_materialization
        metadata = materialization.metadata if materialization else {}
        promoted = metadata.get("promoted_to_champion")
        if not (promoted and promoted.value):
            return dg.SkipReason(
                f"the new {task} model was not promoted: the champion is unchanged"
            )
        version = metadata["model_version"].value
        latest = partitions_def.get_last_partition_key()
        return dg.RunRequest(
            run_key=f"{task}-champion-{version}",
            partition_key=latest,
            asset_selection=targets,
            tags={
                "datatrendz/trigger": f"{task}_champion_sensor",
                "datatrendz/champion": str(version),
            },
        )

    return champion_sensor
