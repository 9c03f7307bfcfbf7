"""The local Dagster instance used by `make demo` and `make dev` (no server needed)."""

from __future__ import annotations

import os
from pathlib import Path

from datatrendz_pipelines.settings import Settings

LOCAL_INSTANCE_YAML = """\
# Local Dagster instance for the demo and `make dev` (SQLite storage under DAGSTER_HOME).
# Deployment uses the dagster.yaml at the top of the repository (PostgreSQL storage).
telemetry:
  enabled: false
concurrency:
  pools:
    # DuckDB allows one writing process: the `warehouse` pool runs one step at a time.
    default_limit: 1
  runs:
    max_concurrent_runs: 4
run_monitoring:
  enabled: true
  # A run whose process died gives its `warehouse` pool slot back instead of holding it forever.
  free_slots_after_run_end_seconds: 30
"""


def ensure_local_instance(settings: Settings) -> Path:
    """Point DAGSTER_HOME at a folder under DATATRENDZ_HOME unless it is set, and give it a
    dagster.yaml if it has none. Returns the DAGSTER_HOME in use."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(LOCAL_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
