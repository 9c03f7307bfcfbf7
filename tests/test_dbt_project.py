"""How the dbt steps are set up: parse state per home, pruned step folders, no in-process adapter."""

import importlib.metadata
import os
import time
from pathlib import Path
from types import SimpleNamespace

from dagster_dbt import DbtCliResource

from datatrendz_pipelines.settings import DBT_PROJECT_DIR
from datatrendz_pipelines.warehouse.project import (
    DBT_EXECUTABLE,
    PARSE_STATE,
    STEP_FOLDERS_KEPT,
    WarehouseDbtCliResource,
    dbt_target_dir,
    finish_step,
    manifest_is_stale,
    step_environment,
)


def _step_folder(home: Path, name: str, state: bytes | None, age: int) -> Path:
    folder = home / name
    folder.mkdir(parents=True)
    (folder / "dbt.log").write_text("{}\n")
    if state is not None:
        (folder / PARSE_STATE).write_bytes(state)
    stamp = time.time() - age
    os.utime(folder, (stamp, stamp))
    return folder


def test_parse_state_and_step_folders_live_in_the_home(settings):
    target = dbt_target_dir(settings, "duckdb")
    assert target == settings.home / "dbt" / "duckdb"
    project = SimpleNamespace(target_path=target)
    assert step_environment(project) == {"DBT_TARGET_PATH": str(target)}


def test_a_finished_step_hands_its_parse_state_back_and_old_folders_go(tmp_path):
    home = tmp_path / "dbt" / "duckdb"
    home.mkdir(parents=True)
    (home / PARSE_STATE).write_bytes(b"stale")
    (home / "manifest.json").write_text("{}")
    old = [_step_folder(home, f"warehouse_models-old{i}", None, 1000 - i) for i in range(12)]
    latest = _step_folder(home, "warehouse_models-new", b"fresh", 0)

    finish_step(latest, SimpleNamespace(target_path=home))

    assert (home / PARSE_STATE).read_bytes() == b"fresh"
    kept = sorted(p.name for p in home.iterdir() if p.is_dir())
    assert len(kept) == STEP_FOLDERS_KEPT
    assert latest.name in kept and old[0].name not in kept and old[-1].name in kept
    assert (home / "manifest.json").exists()
    assert not list(home.glob(f".{PARSE_STATE}.*"))


def test_a_step_without_parse_state_leaves_the_projects(tmp_path):
    home = tmp_path / "dbt"
    home.mkdir()
    (home / PARSE_STATE).write_bytes(b"kept")
    step = _step_folder(home, "warehouse_models-failed", None, 0)
    finish_step(step, SimpleNamespace(target_path=home))
    assert (home / PARSE_STATE).read_bytes() == b"kept"


def test_the_dbt_resource_opens_no_adapter_in_the_run_process(tmp_path):
    # The overrides must replace what dagster-dbt still calls: a rename would make them moot.
    assert {"_initialize_dbt_core_adapter", "_cli_version"} <= set(vars(DbtCliResource))
    resource = WarehouseDbtCliResource(
        project_dir=str(DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE
    )
    invocation = resource.cli(["--version"], raise_on_error=True, target_path=tmp_path / "step")
    invocation.wait()
    assert invocation.is_successful()
    assert invocation.adapter is None
    reported = invocation.get_error() is None and resource._cli_version
    assert str(reported) == importlib.metadata.version("dbt-core")


def test_a_manifest_older_than_a_model_is_parsed_again(tmp_path):
    project = tmp_path / "project"
    (project / "models" / "kpi").mkdir(parents=True)
    (project / "dbt_project.yml").write_text("name: p\n")
    model = project / "models" / "kpi" / "kpi.sql"
    model.write_text("select 1")
    (project / "target").mkdir()  # dbt's output: never makes the manifest stale
    manifest = tmp_path / "manifest.json"
    assert manifest_is_stale(manifest, project)
    manifest.write_text("{}")
    built = time.time() - 100
    for path in (model, project / "dbt_project.yml"):
        os.utime(path, (built - 10, built - 10))
    os.utime(manifest, (built, built))
    (project / "target" / "run.sql").write_text("select 1")
    assert not manifest_is_stale(manifest, project)
    os.utime(model, (built + 5, built + 5))
    assert manifest_is_stale(manifest, project)
