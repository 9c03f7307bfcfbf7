"""The code location loads, and every asset carries what a person needs in the UI."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from datatrendz_pipelines.definitions import build_definitions
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.settings import Settings
from datatrendz_pipelines.warehouse.assets import late_sources


def test_definitions_load_and_resolve_every_job(settings):
    defs = build_definitions(settings)
    repo = defs.get_repository_def()
    assert "daily_pipeline_job" in {job.name for job in repo.get_all_jobs()}
    for job in repo.get_all_jobs():
        assert job.executor_def.name == "in_process"


def test_every_asset_has_description_group_kinds(settings):
    defs = build_definitions(settings)
    specs = list(defs.resolve_all_asset_specs())
    assert {"raw/orders", "raw/order_lines"} <= {s.key.to_user_string() for s in specs}
    for spec in specs:
        assert spec.description, spec.key
        assert spec.group_name and spec.group_name != "default", spec.key
        assert spec.kinds, spec.key


def test_every_warehouse_writer_is_in_the_pool_and_backfills_in_one_run(settings):
    defs = build_definitions(settings)
    writers = [a for a in defs.assets if isinstance(a, dg.AssetsDefinition)]
    assert {k.path[0] for a in writers for k in a.keys} >= {"raw", "staging", "core", "kpi"}
    for asset in writers:
        assert set(asset.op.pools) == {"warehouse"}, asset.node_def.name
        if asset.partitions_def is not None:
            assert asset.backfill_policy == dg.BackfillPolicy.single_run(), asset.node_def.name
    unpartitioned = {
        k.to_user_string() for a in writers if a.partitions_def is None for k in a.keys
    }
    assert unpartitioned == {"revenue_forecast_model", "demand_forecast_model"}


def test_one_dbt_step_per_run_and_the_forecast_view_published_after_the_forecasts(settings):
    defs = build_definitions(settings)
    job = defs.resolve_job_def("daily_pipeline_job")
    dbt_steps = [n.name for n in job.nodes if n.name.endswith("_models")]
    assert dbt_steps == ["warehouse_models"]
    graph = defs.resolve_asset_graph()
    view = dg.AssetKey(["kpi", "kpi_revenue_vs_forecast"])
    assert dg.AssetKey(["ml", "forecasts_revenue"]) not in graph.get(view).parent_keys
    published = graph.get(dg.AssetKey(["analytics", "kpi_revenue_vs_forecast"]))
    assert published.parent_keys == {view, dg.AssetKey(["ml", "forecasts_revenue"])}


def test_a_table_model_over_the_forecasts_is_refused():
    source = "source.datatrendz.ml.forecasts_revenue"
    manifest = {
        "sources": {source: {"schema": "ml", "name": "forecasts_revenue"}},
        "nodes": {
            "model.datatrendz.kpi": {
                "resource_type": "model",
                "original_file_path": "models/kpi.sql",
                "depends_on": {"nodes": [source, "model.datatrendz.kpi_daily_sales"]},
                "config": {"materialized": "incremental"},
            }
        },
    }
    with pytest.raises(dg.DagsterInvalidDefinitionError, match=r"models/kpi\.sql.*view"):
        late_sources(manifest, "model.datatrendz.kpi")
    manifest["nodes"]["model.datatrendz.kpi"]["config"]["materialized"] = "view"
    assert late_sources(manifest, "model.datatrendz.kpi") == [source]


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (dt.datetime(2025, 3, 1), dt.datetime(2025, 3, 2), [dt.date(2025, 3, 1)]),
        (
            dt.datetime(2025, 2, 27),
            dt.datetime(2025, 3, 2),
            [dt.date(2025, 2, 27), dt.date(2025, 2, 28), dt.date(2025, 3, 1)],
        ),
    ],
)
def test_days_in_window_excludes_the_end(start, end, days):
    assert days_in_window(start, end) == days


def test_settings_default_under_home_and_reject_bad_values(tmp_path):
    settings = Settings.from_env({"DATATRENDZ_HOME": str(tmp_path)})
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.landing_dir == tmp_path / "landing"
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    with pytest.raises(ValueError, match="DATATRENDZ_PARTITIONS_START must be a date"):
        Settings.from_env({"DATATRENDZ_HOME": str(tmp_path), "DATATRENDZ_PARTITIONS_START": "soon"})
    with pytest.raises(ValueError, match="DATATRENDZ_DUCKDB_THREADS"):
        Settings.from_env({"DATATRENDZ_HOME": str(tmp_path), "DATATRENDZ_DUCKDB_THREADS": "0"})
    assert settings.gx_max_rows == 500_000
    assert Settings.from_env({"DATATRENDZ_GX_MAX_ROWS": "0"}).gx_max_rows == 0
    with pytest.raises(ValueError, match="DATATRENDZ_GX_MAX_ROWS must be a whole number"):
        Settings.from_env({"DATATRENDZ_HOME": str(tmp_path), "DATATRENDZ_GX_MAX_ROWS": "lots"})
