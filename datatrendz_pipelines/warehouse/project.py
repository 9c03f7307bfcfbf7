"""The dbt project as Dagster sees it: one cached DbtProject whose manifest is parsed once."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from datatrendz_pipelines.settings import DBT_PROJECT_DIR

DBT_TARGETS = ("duckdb", "postgres")
# dbt installed beside this interpreter, so a run works without an activated virtualenv.
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))


def dbt_target() -> str:
    target = os.environ.get("DATATRENDZ_DBT_TARGET", "duckdb")
    if target not in DBT_TARGETS:
        raise ValueError(f"DATATRENDZ_DBT_TARGET must be one of {DBT_TARGETS}, got {target!r}")
    return target


@cache
def dbt_project() -> DbtProject:
    """The project, with its manifest parsed if there is none yet (a fresh clone) or when
    running under `dagster dev` (so model edits show up without a deploy step)."""
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target=dbt_target()
    )
    if project.preparer.using_dagster_dev() or not project.manifest_path.exists():
        dbt_cli(project).cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return project


def dbt_cli(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
