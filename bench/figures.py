"""Turning one size's measurements into the figures the report prints (medians over repeats)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

TRAINING_JOB = "weekly_training_job"
# Stages in report order; "quality" is split off the ingestion steps (see bench/pipeline.py).
STAGES = ("ingest", "quality", "dbt", "forecasts", "publish", "alerts")
BOUNDED = ("ingest", "quality", "dbt", "publish")


@dataclass(frozen=True)
class RunSummary:
    """One measured process: its wall time, the work per stage, the event recording, the peak."""

    wall: float
    stages: dict[str, float]
    recording: float
    peak_rss: int
    success: bool
    trained: bool = False

    @property
    def work(self) -> float:
        return sum(self.stages.values())

    @property
    def overhead(self) -> float:
        """Wall time not spent in any stage's work: process start and imports, loading the
        definitions, run setup and teardown, between steps, and event recording."""
        return self.wall - self.work


def summarise(runs: list[dict], wall: float, peak_rss: int) -> RunSummary:
    """Sum a phase's runs (JSON from bench/pipeline.py) into work per stage; `wall` is the
    phase process's, less the time it spent reading the runs' event logs for these figures.

    A step's work is its STEP_START..STEP_SUCCESS time minus the back-to-back event recording
    inside it. The ingestion steps' work is split into `ingest` (the loader's own seconds:
    read, cast, row rules, write) and `quality` (the rest: the asset checks, GX included)."""
    stages: dict[str, float] = defaultdict(float)
    recording = 0.0
    for run in runs:
        for step in run["steps"].values():
            stages[step["stage"]] += step["seconds"] - step["recording"]
            recording += step["recording"]
        stages["loader"] += run["load_seconds"]
    loader = stages.pop("loader", 0.0)
    stages["quality"] = max(stages.get("ingest", 0.0) - loader, 0.0)
    stages["ingest"] = loader
    wall -= sum(run.get("read_seconds", 0.0) for run in runs)  # the benchmark's own reading
    ok = bool(runs) and all(r["success"] for r in runs)
    trained = any(r["job"] == TRAINING_JOB for r in runs)
    per_stage = {s: stages.get(s, 0.0) for s in STAGES}
    return RunSummary(wall, per_stage, recording, peak_rss, ok, trained)


@dataclass
class Repeat:
    """One repetition at one size: generation, the full build, its bounds, the daily runs (in a
    new process, and on a warm run worker)."""

    lines: int
    generate_seconds: float
    full: RunSummary
    bounds: dict[str, float]
    day_long: RunSummary
    day_short: RunSummary
    dbt_day_bound: float
    worker_day_long: RunSummary
    worker_day_short: RunSummary


@dataclass
class SizeResult:
    lines_target: int
    days: int
    short_days: int
    repeats: list[Repeat] = field(default_factory=list)

    def median(self, pick) -> float:
        return statistics.median(pick(r) for r in self.repeats)
