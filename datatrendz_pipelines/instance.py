"""The local Dagster instance used by `make demo` and `make dev` (no server needed), and the
switches that make Dagster record a run over many days cheaply on any instance."""

from __future__ import annotations

import os
from pathlib import Path

from datatrendz_pipelines.event_log import EVENT_BATCH_SIZE, EVENT_BATCH_SIZE_ENV
from datatrendz_pipelines.settings import Settings

# The first line marks a file this module wrote, so a newer template replaces it; delete the
# line to keep hand edits.
EARLIER_HEADERS = (
    "# Local Dagster instance for the demo and `make dev` (SQLite storage under DAGSTER_HOME).",
)
LOCAL_INSTANCE_HEADER = (
    "# Local Dagster instance for the demo and `make dev`, written by datatrendz."
)
LOCAL_INSTANCE_YAML = f"""\
{LOCAL_INSTANCE_HEADER}
# SQLite storage under DAGSTER_HOME; deployment uses the repository's dagster.yaml (PostgreSQL).
telemetry:
  enabled: false
# Dagster's SQLite event log, with a range run's materializations written in one transaction.
event_log_storage:
  module: datatrendz_pipelines.event_log
  class: BatchedSqliteEventLogStorage
  config:
    base_dir:
      env: DAGSTER_HOME
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

# Dagster's own switches, for every process that executes runs (the demo, `make dev`, the
# daemon's run workers). A range run records its planned materializations once per asset, not
# once per asset and day (730 days x 56 assets was 19 minutes of writes before the first step);
# the cost: a range run that fails leaves its partitions missing rather than failed, so a
# re-run still picks them. And a step's materializations of its days are stored as batches.
RANGE_RUN_ENVIRONMENT = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    EVENT_BATCH_SIZE_ENV: EVENT_BATCH_SIZE,
}


def ensure_local_instance(settings: Settings) -> Path:
    """Point DAGSTER_HOME at a folder under DATATRENDZ_HOME unless it is set, and give it the
    dagster.yaml above when it has none, or has one written here by an earlier version.
    Returns the DAGSTER_HOME in use."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.home / "dagster")
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    if current is None or (current != LOCAL_INSTANCE_YAML and _written_here(current)):
        config.write_text(LOCAL_INSTANCE_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _written_here(text: str) -> bool:
    return text.partition("\n")[0] in (LOCAL_INSTANCE_HEADER, *EARLIER_HEADERS)
