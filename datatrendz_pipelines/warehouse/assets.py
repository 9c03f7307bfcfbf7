"""dbt models as Dagster assets: staging -> intermediate -> core marts -> kpi, built per day."""

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from pydantic import Field

from datatrendz_pipelines.ingestion.assets import WAREHOUSE_POOL
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.preload import Preload, importing_meanwhile
from datatrendz_pipelines.retries import TRANSIENT_RETRY
from datatrendz_pipelines.warehouse.project import (
    dbt_project,
    dbt_target,
    finish_step,
    step_environment,
)


class WarehouseTranslator(DagsterDbtTranslator):
    """Keys mirror the warehouse schema (`core/fct_orders`); sources are the raw assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # A source's schema is `raw`, so `raw/orders` is the ingestion asset itself.
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "kpi" if dbt_resource_props.get("schema") == "kpi" else "warehouse"


class DbtBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild incremental models from all history instead of the run's days.",
    )


def dbt_window_env(first_day: str, last_day: str) -> dict[str, str]:
    """The partition window (inclusive days, YYYY-MM-DD) as the environment dbt reads it from.

    Not `--vars`: vars that differ from the last parse make dbt re-parse the whole project on
    every run (twice per run, one per dbt step), while the macros read these variables only when
    a model executes (see dbt_project/macros/partition_window.sql)."""
    return {"DATATRENDZ_DBT_MIN_DATE": first_day, "DATATRENDZ_DBT_MAX_DATE": last_day}


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block: the dbt CLI resource passes os.environ to dbt."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


# Models that read what the forecasting assets write: a dbt step of their own after them, so the
# asset graph has no cycle through the main dbt step.
FORECAST_MODELS = "kpi_revenue_vs_forecast"


def _build(
    name: str,
    select: str,
    exclude: str | None,
    partitions_def: dg.PartitionsDefinition,
    preload: Preload | None = None,
) -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        name=name,
        manifest=project.manifest_path,
        project=project,
        select=select,
        exclude=exclude,
        dagster_dbt_translator=WarehouseTranslator(
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        # On the PostgreSQL target dbt talks to a server that may refuse connections for a
        # moment; on DuckDB a failed build fails the same way again.
        retry_policy=TRANSIENT_RETRY if dbt_target() == "postgres" else None,
    )
    def models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
    ) -> Iterator[Any]:
        window = context.partition_time_window
        days = days_in_window(window.start, window.end)
        # Unit tests check the SQL, not the data: they run with the test suite, not per day.
        # No manifest.json / run_results.json per step (0.5 s each): Dagster reads dbt's event
        # stream; the parse state dbt still writes.
        args = ["build", "--exclude-resource-type", "unit_test", "--no-write-json"]
        if config.full_refresh:
            args.append("--full-refresh")
        step_env = dbt_window_env(days[0].isoformat(), days[-1].isoformat())
        wanted = preload and preload.wanted_by(context.job_def.asset_layer.selected_asset_keys)
        with (
            environment(step_env | step_environment(project)),
            importing_meanwhile(preload.modules if wanted else ()),
        ):
            invocation = dbt.cli(args, context=context)
            yield from invocation.stream()
        finish_step(invocation.target_path, project)

    return models


def build_dbt_assets(
    partitions_def: dg.PartitionsDefinition, preload: Preload | None = None
) -> list[dg.AssetsDefinition]:
    """The main dbt step (staging -> marts -> KPIs) and the step of the forecast KPI models.
    `preload`: what the main step imports while dbt builds, for the steps after it."""
    return [
        _build("warehouse_models", "fqn:*", FORECAST_MODELS, partitions_def, preload),
        _build("forecast_kpi_models", FORECAST_MODELS, None, partitions_def),
    ]
