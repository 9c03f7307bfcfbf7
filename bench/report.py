"""The benchmark report as Markdown: one table per size, the machine, the date, the command."""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
from collections.abc import Callable

from bench.figures import BOUNDED, Repeat, RunSummary, SizeResult

GIB = 1024**3
# The targets the pipeline is held to (set for 10M order lines; shown at every size).
BOUND_FACTOR_GOAL = 2.0
OVERHEAD_GOAL_S = 20.0
INCREMENTAL_DAY_GOAL_S = 15.0
PEAK_MEMORY_GOAL_GIB = 4.0
STAGE_LABELS = {
    "ingest": "ingest (landing files -> raw.*)",
    "quality": "quality gate (asset checks)",
    "dbt": "dbt build (models + tests)",
    "forecasts": "forecasts (training + forecasting)",
    "publish": "publish (PostgreSQL + Parquet)",
    "alerts": "alerts",
}
BOUND_LABELS = {
    "ingest": "bare DuckDB read of the files",
    "quality": "row rules as SQL",
    "dbt": "compiled SQL in DuckDB",
    "publish": "bare binary COPY, DuckDB's Parquet export",
}


def machine() -> str:
    cores = os.cpu_count() or 0
    try:
        pages, page = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        memory = f"{pages * page / GIB:.1f} GiB memory"
    except (ValueError, OSError, AttributeError):
        memory = "memory unknown"
    return f"{cores} cores, {memory}, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def _s(seconds: float) -> str:
    return f"{seconds:,.1f} s" if seconds >= 1 else f"{seconds:,.2f} s"


def _ratio(value: float, bound: float) -> str:
    return f"{value / bound:,.1f}x" if bound > 0 else "-"


def bounded_medians(result: SizeResult) -> tuple[float, float]:
    """Medians of the bounded stages' work and of the sum of their bounds."""
    work = result.median(lambda r: sum(r.full.stages[s] for s in BOUNDED))
    return work, result.median(lambda r: sum(r.bounds.values()))


def goals_table(result: SizeResult) -> list[str]:
    """Each target next to its measured median, and whether it is met; figures as the main
    table computes them: a ratio of medians, the longer of the two days' medians."""
    work, bound = bounded_medians(result)
    factor = work / bound if bound else math.inf
    overhead = result.median(lambda r: r.full.overhead)
    day = max(
        result.median(lambda r: r.worker_day_long.wall),
        result.median(lambda r: r.worker_day_short.wall),
    )
    peak = result.median(lambda r: r.full.peak_rss) / GIB
    rows = [
        (
            "stage work with a bound, x its plain-SQL bound",
            f"<= {BOUND_FACTOR_GOAL:.0f}x",
            f"{factor:.2f}x" if math.isfinite(factor) else "-",
            factor <= BOUND_FACTOR_GOAL,
        ),
        (
            "orchestration overhead of the full build",
            f"< {OVERHEAD_GOAL_S:.0f} s",
            _s(overhead),
            overhead < OVERHEAD_GOAL_S,
        ),
        (
            "incremental day on the warm run worker, the longer of the two histories",
            f"< {INCREMENTAL_DAY_GOAL_S:.0f} s",
            _s(day),
            day < INCREMENTAL_DAY_GOAL_S,
        ),
        (
            "peak memory of the full build",
            f"< {PEAK_MEMORY_GOAL_GIB:.0f} GiB",
            f"{peak:.2f} GiB",
            peak < PEAK_MEMORY_GOAL_GIB,
        ),
    ]
    return [
        "The targets:",
        "",
        "| target | goal | measured | met |",
        "|---|---:|---:|---|",
        *(f"| {a} | {b} | {c} | {'yes' if ok else 'no'} |" for a, b, c, ok in rows),
        "",
    ]


def size_table(result: SizeResult) -> list[str]:
    def med(pick: Callable[[Repeat], float]) -> float:
        return result.median(pick)

    # The incremental days, in the order of their rows and columns: (where, days of history, run).
    day_runs: list[tuple[str, int, Callable[[Repeat], RunSummary]]] = [
        ("in a new process, wall", result.short_days, lambda r: r.day_short),
        ("in a new process, wall", result.days, lambda r: r.day_long),
        ("on the warm run worker", result.short_days, lambda r: r.worker_day_short),
        ("on the warm run worker", result.days, lambda r: r.worker_day_long),
    ]
    lines_made = int(med(lambda r: r.lines))
    gen = med(lambda r: r.generate_seconds)
    rows = [
        ("data generation", f"{_s(gen)} ({lines_made / gen:,.0f} lines/s)", "", ""),
    ]
    trained = all(r.full.trained for r in result.repeats)
    for stage, text in STAGE_LABELS.items():
        if stage == "forecasts" and not trained:
            text += ", no training: too little history"
        value = med(lambda r, s=stage: r.full.stages[s])
        if stage in BOUNDED:
            bound = med(lambda r, s=stage: r.bounds[s])
            rows.append(
                (text, _s(value), f"{_s(bound)} ({BOUND_LABELS[stage]})", _ratio(value, bound))
            )
        else:
            rows.append((text, _s(value), "", ""))
    work = med(lambda r: r.full.work)
    bounded_work, bound_total = bounded_medians(result)
    rows += [
        ("stage work, total", _s(work), "", ""),
        (
            "stage work with a bound (ingest, gate, dbt, publish)",
            _s(bounded_work),
            _s(bound_total),
            _ratio(bounded_work, bound_total),
        ),
        (
            "orchestration overhead (wall - stage work)",
            f"{_s(med(lambda r: r.full.overhead))} (of which event recording "
            f"{_s(med(lambda r: r.full.recording))})",
            "",
            "",
        ),
        ("full build, wall", _s(med(lambda r: r.full.wall)), "", ""),
        *(
            (
                f"incremental day on {n} days of history, {where}",
                _s(med(lambda r, d=day: d(r).wall)),
                "",
                "",
            )
            for where, n, day in day_runs
        ),
        (
            "peak memory (RSS), full build",
            f"{med(lambda r: r.full.peak_rss) / GIB:.2f} GiB",
            "",
            "",
        ),
        (
            "peak memory (RSS), incremental day in a new process",
            f"{med(lambda r: max(r.day_long.peak_rss, r.day_short.peak_rss)) / GIB:.2f} GiB",
            "",
            "",
        ),
    ]
    out = [
        f"## {lines_made:,} order lines over {result.days} days",
        "",
        f"Median of {len(result.repeats)} run(s).",
        "",
        "| figure | measured | plain-SQL bound | x bound |",
        "|---|---:|---:|---:|",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
        "",
        "The incremental day, per stage, in a new process and on the warm run worker "
        f"(on {result.short_days} / {result.days} days of history):",
        "",
        f"| stage | new process, {result.short_days} days | new process, {result.days} days | "
        f"warm worker, {result.short_days} days | warm worker, {result.days} days | "
        "plain-SQL bound | warm worker, x bound |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def day_cells(pick: Callable[[RunSummary], float]) -> list[float]:
        return [med(lambda r, d=day: pick(d(r))) for _, _, day in day_runs]

    for stage, text in STAGE_LABELS.items():
        cells = day_cells(lambda summary, s=stage: summary.stages[s])
        bound = ratio = ""
        if stage == "dbt":
            day_bound = med(lambda r: r.dbt_day_bound)
            bound = f"{_s(day_bound)} (one day's compiled SQL)"
            ratio = _ratio(cells[-1], day_bound)
        out.append(f"| {text} | {' | '.join(_s(c) for c in cells)} | {bound} | {ratio} |")
    for text, pick in (
        ("orchestration overhead", lambda summary: summary.overhead),
        ("wall", lambda summary: summary.wall),
    ):
        out.append(f"| {text} | {' | '.join(_s(c) for c in day_cells(pick))} |  |  |")
    out.append("")
    return out + goals_table(result)


def render(results: list[SizeResult], command: str, when: dt.datetime) -> str:
    head = [
        "# Benchmarks",
        "",
        "<!-- Generated by bench/run.py (`make bench`): do not edit by hand, run it again. -->",
        "",
        f"- Command: `{command}`",
        f"- Date: {when:%Y-%m-%d %H:%M} UTC",
        f"- Machine: {machine()}",
        "",
        "How to read it: the full build is what `make demo` runs, in a new process on a local",
        "(SQLite) Dagster instance: the daily job over every day as one run, the training job, the",
        "last day's forecasts again with the new champions and what reads them (with under 160",
        "days of history, only the first).",
        "A stage's work is the time of its steps from the run's step events, less the time spent",
        "recording one materialization per asset per day; the quality gate is the ingestion steps'",
        "time outside the loader (the asset checks, Great Expectations included; the row rules run",
        "inside the loader). The dbt stage includes the dbt process's start-up and parse.",
        "Orchestration overhead is the process's wall time (less its reading of the event log for",
        "these figures) minus all stage work: start-up and imports, loading the definitions, run",
        "setup and teardown, time between steps, and the event recording. The incremental day is",
        "one partition of the daily job (on the short history, with the long one's champion",
        "models), run twice: in a new process, as `make demo` or a launch without a run worker",
        "does, and handed to a warm run worker, as `make serve` runs it (the worker forks the",
        "run's process from one that has imported the pipeline; started beforehand, not timed; the",
        "time is from the hand-over to the run's end). Peak memory is the resident",
        "set of the process and its children, sampled every 0.2 s. The bounds are measured on",
        "what the build loaded: a bare DuckDB read of the files, the contracts' row rules as SQL,",
        "the models' compiled SQL run straight in DuckDB (all history), a binary COPY into plain",
        "tables and DuckDB's own export of the same tables to Parquet in daily partitions.",
        "",
    ]
    body = [line for result in results for line in size_table(result)]
    return "\n".join(head + body)
