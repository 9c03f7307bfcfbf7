"""dbt models as Dagster assets: staging -> intermediate -> core marts -> kpi, built per day."""

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from pydantic import Field

from datatrendz_pipelines.ingestion.assets import WAREHOUSE_POOL
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.preload import Preload, importing_meanwhile
from datatrendz_pipelines.retries import TRANSIENT_RETRY
from datatrendz_pipelines.warehouse.dbt_process import start_warm_dbt
from datatrendz_pipelines.warehouse.project import (
    dbt_project,
    dbt_target,
    finish_step,
    step_environment,
    warm_up_for,
)

# Schemas of the tables that assets after the dbt step write (the forecasts). A model reading
# them is a view, which reads them when queried, not when dbt builds it: in the asset graph its
# readers depend on those tables instead of the view itself (which would be a cycle through the
# dbt step, and a second dbt invocation in every run).
READ_WHEN_QUERIED = frozenset({"ml"})


class WarehouseTranslator(DagsterDbtTranslator):
    """Keys mirror the warehouse schema (`core/fct_orders`); sources are the raw assets."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        # A source's schema is `raw`, so `raw/orders` is the ingestion asset itself.
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "kpi" if dbt_resource_props.get("schema") == "kpi" else "warehouse"

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        late = self.late_source_keys(manifest, unique_id)
        if not late:
            return spec
        return spec.replace_attributes(deps=[d for d in spec.deps if d.asset_key not in late])

    def late_source_keys(self, manifest: Mapping[str, Any], unique_id: str) -> list[dg.AssetKey]:
        """Keys of the READ_WHEN_QUERIED sources a model reads (see `late_sources`)."""
        return [
            self.get_asset_key(manifest["sources"][s]) for s in late_sources(manifest, unique_id)
        ]


def late_sources(manifest: Mapping[str, Any], unique_id: str) -> list[str]:
    """The READ_WHEN_QUERIED sources a model reads; an error unless the model is a view."""
    node = manifest["nodes"].get(unique_id)
    if node is None or node["resource_type"] != "model":
        return []
    late = [
        upstream
        for upstream in node["depends_on"]["nodes"]
        if upstream.startswith("source.")
        and manifest["sources"][upstream]["schema"] in READ_WHEN_QUERIED
    ]
    if late and node["config"]["materialized"] != "view":
        raise dg.DagsterInvalidDefinitionError(
            f"dbt model {node['original_file_path']} reads {', '.join(late)}, which the "
            "pipeline writes after the dbt step: make it a view "
            "({{ config(materialized='view') }})."
        )
    return late


class DbtBuildConfig(dg.Config):
    full_refresh: bool = Field(
        default=False,
        description="Rebuild incremental models from all history instead of the run's days.",
    )


def dbt_window_env(first_day: str, last_day: str) -> dict[str, str]:
    """The partition window (inclusive days, YYYY-MM-DD) as the environment dbt reads it from.

    Not `--vars`: vars that differ from the last parse make dbt re-parse the whole project on
    every run, while the macros read these variables only when
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


def warm_dbt_when_selected(
    dbt_keys: frozenset[dg.AssetKey],
) -> Callable[[dg.AssetExecutionContext], None]:
    """For the steps before the dbt step: start a warm dbt process when the run builds the models
    (see dbt_process), so dbt's imports and warm-up run while those steps do."""

    def start(context: dg.AssetExecutionContext) -> None:
        if not dbt_keys.isdisjoint(context.job_def.asset_layer.selected_asset_keys):
            start_warm_dbt(warm_up_for(dbt_project()))

    return start


@dataclass(frozen=True)
class DbtStep:
    """The dbt models as one multi-asset (one dbt invocation per run), and per view over
    READ_WHEN_QUERIED tables the keys of those tables, which the view's readers depend on."""

    assets: dg.AssetsDefinition
    read_when_queried: Mapping[dg.AssetKey, list[dg.AssetKey]]


def build_dbt_assets(
    partitions_def: dg.PartitionsDefinition, preload: Preload | None = None
) -> DbtStep:
    """Every dbt model (staging -> marts -> KPIs) built in one step per run. `preload`: what the
    step imports while dbt builds, for the steps after it."""
    project = dbt_project()
    manifest = json.loads(project.manifest_path.read_bytes())
    translator = WarehouseTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    )

    @dbt_assets(
        name="warehouse_models",
        manifest=manifest,
        project=project,
        dagster_dbt_translator=translator,
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
        wanted = preload is not None and preload.wanted_by(
            context.job_def.asset_layer.selected_asset_keys
        )
        with (
            environment(step_env | step_environment(project)),
            importing_meanwhile(preload.modules, preload.then)
            if wanted
            else contextlib.nullcontext(),
        ):
            invocation = dbt.cli(args, context=context)
            yield from invocation.stream()
        finish_step(invocation.target_path, project)

    read_when_queried = {
        translator.get_asset_key(node): keys
        for unique_id, node in manifest["nodes"].items()
        if (keys := translator.late_source_keys(manifest, unique_id))
    }
    return DbtStep(models, read_when_queried)
