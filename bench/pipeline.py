"""One measured phase of the benchmark, run in a process of its own (as a Dagster run worker is).

    python -m bench.pipeline PHASE FIRST LAST OUT_JSON

Settings come from the environment (DATATRENDZ_HOME, DAGSTER_HOME, ...), as for `make demo`.
Phases, each through `demo_run.run_job` on the local (SQLite) instance:
- `full`: what `make demo` does: the daily job over FIRST..LAST as one run (a single-run backfill),
  the weekly training job, then the daily job for LAST again (forecasts with the new champions,
  published); with under MIN_TRAINING_DAYS of history only the first run;
- `range`: the daily job over FIRST..LAST as one run;
- `day`: the daily job for LAST (one partition: the incremental daily run).
- `worker-day`: the same run handed to the warm run worker at $DATATRENDZ_RUN_WORKER_SOCKET
  (started and ready beforehand, as `make serve` keeps one): its seconds are from the hand-over
  to the run's end, as the scheduler would see them; creating the run is not counted.

Per run it reads the run's event log and writes, per step, the stage its assets belong to, the
seconds from STEP_START to STEP_SUCCESS and, of those, the seconds spent recording events back
to back (one materialization per asset per day of the run, check evaluations): see `step_times`.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import dagster as dg

# Asset groups -> benchmark stages. The quality gate runs inside the raw/<source> steps (row
# rules while loading, asset checks after): it is split off with the loader's own timing.
STAGE_OF_GROUP = {
    "ingestion": "ingest",
    "warehouse": "dbt",
    "kpi": "dbt",
    "forecasting": "forecasts",
    "publishing": "publish",
    "alerting": "alerts",
}
# The backtest needs 4 cut-offs 28 days apart, a 28-day horizon and history before them.
MIN_TRAINING_DAYS = 160


@dataclass
class StepTime:
    stage: str
    seconds: float
    recording: float


@dataclass
class RunTimes:
    job: str
    days: str
    success: bool
    seconds: float
    steps: dict[str, StepTime] = field(default_factory=dict)
    # Seconds the raw/<source> steps spent in the loader (read, cast, row rules, write).
    load_seconds: float = 0.0
    # Seconds this script spent reading the run's event log afterwards (not the pipeline's).
    read_seconds: float = 0.0


def stage_of_steps(defs: dg.Definitions) -> dict[str, str]:
    """Step key (the op name, with the in-process executor) -> benchmark stage."""
    stages: dict[str, str] = {}
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if not assets_def.is_executable:
            continue
        groups = set(assets_def.group_names_by_key.values())
        stage = next((STAGE_OF_GROUP[g] for g in sorted(groups) if g in STAGE_OF_GROUP), "other")
        stages[assets_def.node_def.name] = stage
    return stages


def step_times(records: list[Any], stages: dict[str, str]) -> tuple[dict[str, StepTime], float]:
    """Per step: stage, seconds from STEP_START to STEP_SUCCESS (or STEP_FAILURE), and the
    seconds between consecutive materializations of the same asset (one per day of the run) -
    the time Dagster spends storing them, a slight underestimate as the first of each burst is
    not counted. Also the sum of the loader's `seconds` metadata over the raw/<source> assets."""
    by_step: dict[str, list[tuple[float, str, Any]]] = defaultdict(list)
    for entry in records:
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        kind = event.event_type_value
        if kind == "ASSET_MATERIALIZATION":
            kind = f"{kind}:{event.asset_key.to_user_string()}"
        by_step[entry.step_key].append((entry.timestamp, kind, event))
    out: dict[str, StepTime] = {}
    load_seconds = 0.0
    for step, events in by_step.items():
        events.sort(key=lambda e: e[0])
        starts = [t for t, kind, _ in events if kind == "STEP_START"]
        ends = [t for t, kind, _ in events if kind in ("STEP_SUCCESS", "STEP_FAILURE")]
        if not starts or not ends:
            continue
        recording = sum(
            t - previous
            for (previous, kind_before, _), (t, kind, _) in pairwise(events)
            if kind.startswith("ASSET_MATERIALIZATION:") and kind == kind_before
        )
        stage = stages.get(step, "other")
        out[step] = StepTime(stage, ends[-1] - starts[0], recording)
        if stage == "ingest":
            load_seconds += _loader_seconds(events)
    return out, load_seconds


def _loader_seconds(events: list[tuple[float, str, Any]]) -> float:
    """The loader's own seconds: the `seconds` metadata of each source the step loaded (a range
    run records every source once per day, each time with the same figure)."""
    per_source: dict[str, float] = {}
    for _, kind, event in events:
        if kind.startswith("ASSET_MATERIALIZATION:"):
            value = event.event_specific_data.materialization.metadata.get("seconds")
            if value is not None:
                per_source.setdefault(kind, float(value.value))
    return sum(per_source.values())


def run_phase(phase: str, first: dt.date, last: dt.date) -> list[RunTimes]:
    import dagster as dg

    from datatrendz_pipelines.definitions import build_definitions
    from datatrendz_pipelines.demo_run import MAIN_JOB, TRAINING_JOB, reforecast, run_job
    from datatrendz_pipelines.instance import ensure_local_instance
    from datatrendz_pipelines.settings import Settings

    settings = Settings.from_env()
    ensure_local_instance(settings)
    defs = build_definitions(settings)
    stages = stage_of_steps(defs)
    whole = (MAIN_JOB, first, last, lambda: run_job(settings, MAIN_JOB, first, last, defs))
    day = (MAIN_JOB, last, last, lambda: run_job(settings, MAIN_JOB, last, last, defs))
    plan = {
        # As `make demo`: every day, training, then the last day's forecasts again.
        "full": [
            whole,
            (TRAINING_JOB, None, None, lambda: run_job(settings, TRAINING_JOB, defs=defs)),
            (MAIN_JOB, last, last, lambda: reforecast(settings, last, defs)),
        ],
        "range": [whole],
        "day": [day],
    }[phase]
    if phase == "full" and (last - first).days + 1 < MIN_TRAINING_DAYS:
        plan = plan[:1]  # too little history to train: the forecasts steps find no champion
    runs = []
    for job, start, end, run in plan:
        started = time.perf_counter()
        result = run()
        seconds = time.perf_counter() - started
        with dg.DagsterInstance.get() as instance:
            steps, load_seconds = step_times(instance.all_logs(result.run_id), stages)
        read_seconds = time.perf_counter() - started - seconds
        days = f"{start}..{end}" if start else ""
        runs.append(RunTimes(job, days, result.success, seconds, steps, load_seconds, read_seconds))
        if not result.success:
            break
    return runs


def run_on_worker(last: dt.date) -> list[RunTimes]:
    import os

    import dagster as dg

    from datatrendz_pipelines.definitions import build_definitions
    from datatrendz_pipelines.demo_run import CONSOLE_AT_INFO, MAIN_JOB, range_tags
    from datatrendz_pipelines.instance import ensure_local_instance
    from datatrendz_pipelines.run_worker import SOCKET_ENV, create_job_run, hand_run, wait_for_run
    from datatrendz_pipelines.settings import Settings

    settings = Settings.from_env()
    ensure_local_instance(settings)
    stages = stage_of_steps(build_definitions(settings))
    with dg.DagsterInstance.get() as instance:
        run = create_job_run(
            instance, MAIN_JOB, tags=range_tags(last, last), run_config=CONSOLE_AT_INFO
        )
        started = time.perf_counter()
        hand_run(Path(os.environ[SOCKET_ENV]), run.run_id)
        finished = wait_for_run(instance, run.run_id, timeout=3600)
        seconds = time.perf_counter() - started
        steps, load_seconds = step_times(instance.all_logs(run.run_id), stages)
        read_seconds = time.perf_counter() - started - seconds
    success = finished.status == dg.DagsterRunStatus.SUCCESS
    days = f"{last}..{last}"
    return [RunTimes(MAIN_JOB, days, success, seconds, steps, load_seconds, read_seconds)]


def main(argv: list[str]) -> int:
    phase, first, last, out = argv
    if phase == "worker-day":
        runs = run_on_worker(dt.date.fromisoformat(last))
    else:
        runs = run_phase(phase, dt.date.fromisoformat(first), dt.date.fromisoformat(last))
    Path(out).write_text(json.dumps([asdict(r) for r in runs], indent=1))
    return 0 if all(r.success for r in runs) else 1


if __name__ == "__main__":
    from datatrendz_pipelines.batch_process import exit_without_teardown

    # As the `datatrendz` command ends.
    exit_without_teardown(main(sys.argv[1:]))
