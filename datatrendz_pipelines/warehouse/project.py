"""The dbt project as Dagster sees it: one DbtProject per target and home, parsed once.

dbt keeps what it parsed in `partial_parse.msgpack`, valid only for the profile it was parsed
with, and the profile holds the warehouse path. So the parse state lives under DATATRENDZ_HOME
(`<home>/dbt/<target>/`), not in the shared checkout: with one `target/` for every home (tests,
benchmarks, a second deployment), each dbt step found "profile has changed" and parsed the whole
project again (5-8 s a step). dagster-dbt finds the state, and puts each step's own folder,
under DBT_TARGET_PATH, which the dbt steps point here (`step_environment`). Each step hands its
fresh state back (`finish_step`), so the next one parses only what changed, and only the
newest step folders are kept (each holds ~5 MB of manifest and compiled SQL).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from functools import cache, cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from datatrendz_pipelines.settings import DBT_PROJECT_DIR, Settings
from datatrendz_pipelines.warehouse.dbt_process import WarmUp

DBT_TARGETS = ("duckdb", "postgres")
# dbt installed beside this interpreter, so a run works without an activated virtualenv: the
# project's own entry point to dbt's CLI, which spares each step dbt's process teardown
# (datatrendz_pipelines/warehouse/dbt_process.py).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("datatrendz-dbt"))
PARSE_STATE = "partial_parse.msgpack"
STEP_FOLDERS_KEPT = 10


def dbt_target() -> str:
    target = os.environ.get("DATATRENDZ_DBT_TARGET", "duckdb")
    if target not in DBT_TARGETS:
        raise ValueError(f"DATATRENDZ_DBT_TARGET must be one of {DBT_TARGETS}, got {target!r}")
    return target


def dbt_target_dir(settings: Settings, target: str) -> Path:
    """Where dbt writes its manifest and parse state for this home and target."""
    return settings.home / "dbt" / target


def dbt_project() -> DbtProject:
    """The project for the current DATATRENDZ_HOME and DATATRENDZ_DBT_TARGET."""
    target = dbt_target()
    return _project(target, dbt_target_dir(Settings.from_env(), target))


# What dbt reads of the project; its own output folders are left out.
PROJECT_SOURCES = ("dbt_project.yml", "models", "macros", "tests", "seeds", "snapshots")


def manifest_is_stale(manifest: Path, project_dir: Path = DBT_PROJECT_DIR) -> bool:
    """True when the manifest is missing or older than a file of the project (a model edited, or
    a checkout updated after the home's last parse)."""
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in PROJECT_SOURCES:
        path = project_dir / name
        files = path.rglob("*") if path.is_dir() else [path]
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


@cache
def _project(target: str, target_dir: Path) -> DbtProject:
    """Parsed when the home has no manifest yet or one older than the project's files (the dbt
    steps write none), and when running under `dagster dev`."""
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target,
        target_path=target_dir,
    )
    if project.preparer.using_dagster_dev() or manifest_is_stale(project.manifest_path):
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


class WarehouseDbtCliResource(DbtCliResource):
    """The dbt CLI of this environment, without two things dagster-dbt does in the run's own
    process before the first dbt command of a run:
    - it runs `dbt --version` to learn the version (2.7 s, dbt's start-up), which is the
      dbt-core installed beside this interpreter (DBT_EXECUTABLE);
    - it opens a dbt-core adapter, which serves only `fetch_row_counts` /
      `fetch_column_metadata`, not called here; opening it imported dbt and loaded the project
      again (5 s of the first dbt step, 0.6 s of each later one)."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return WarehouseDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)


def warm_up_for(project: DbtProject) -> WarmUp:
    """What a warm dbt process parses while the steps before the dbt step run: this project, for
    its target, from the home's parse state."""
    return WarmUp(
        args=[
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            "--target",
            str(project.target),
        ],
        state=str(Path(project.target_path) / PARSE_STATE),
    )


def step_environment(project: DbtProject) -> dict[str, str]:
    """The environment that makes dagster-dbt keep a step's folder, and find the parse state
    it starts from, under the project's target folder of this home."""
    return {"DBT_TARGET_PATH": str(project.target_path)}


def finish_step(step_target: Path, project: DbtProject) -> None:
    """After a dbt step succeeded: make its parse state the project's, then drop all but the
    newest STEP_FOLDERS_KEPT step folders (a failed step's folder stays until then).

    dagster-dbt copies the project's state into each step's folder but never back, so a state
    dbt had to rebuild (after a model edit or a new warehouse path) would be rebuilt by every
    later step. Replaced atomically: a step reading it sees the old or the new file."""
    home = Path(project.target_path)
    fresh = Path(step_target) / PARSE_STATE
    if fresh.exists():
        aside = home / f".{PARSE_STATE}.{uuid.uuid4().hex}"
        shutil.copyfile(fresh, aside)
        os.replace(aside, home / PARSE_STATE)
    steps = sorted(
        (p for p in home.iterdir() if p.is_dir() and (p / "dbt.log").exists()),
        key=lambda p: p.stat().st_mtime,
    )
    for old in steps[:-STEP_FOLDERS_KEPT]:
        shutil.rmtree(old, ignore_errors=True)
