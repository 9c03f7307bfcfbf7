"""dbt models as Dagster assets: staging -> intermediate -> core marts -> kpi, built per day."""

import json
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
from datatrendz_pipelines.retries import TRANSIENT_RETRY
from datatrendz_pipelines.warehouse.project import dbt_project, dbt_target


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


def dbt_vars(first_day: str, last_day: str) -> dict[str, str]:
    """dbt vars for a partition window (inclusive days, YYYY-MM-DD)."""
    return {"min_date": first_day, "max_date": last_day}


# Models that read what the forecasting assets write: a dbt step of their own after them, so the
# asset graph has no cycle through the main dbt step.
FORECAST_MODELS = "kpi_revenue_vs_forecast"


def _build(
    name: str, select: str, exclude: str | None, partitions_def: dg.PartitionsDefinition
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
        args = [
            "build",
            "--vars",
            json.dumps(dbt_vars(days[0].isoformat(), days[-1].isoformat())),
            # Unit tests check the SQL, not the data: they run with the test suite, not per day.
            "--exclude-resource-type",
            "unit_test",
        ]
        if config.full_refresh:
            args.append("--full-refresh")
        yield from dbt.cli(args, context=context).stream()

    return models


def build_dbt_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The main dbt step (staging -> marts -> KPIs) and the step of the forecast KPI models."""
    return [
        _build("warehouse_models", "fqn:*", FORECAST_MODELS, partitions_def),
        _build("forecast_kpi_models", FORECAST_MODELS, None, partitions_def),
    ]
