"""The benchmark harness (bench/run.py) at a tiny size, so it keeps working between real runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.figures import STAGES, Repeat, RunSummary, SizeResult, summarise
from bench.report import STAGE_LABELS, goals_table
from bench.run import main, parse_size


@pytest.mark.parametrize(
    ("text", "lines"), [("1M", 1_000_000), ("10m", 10_000_000), ("20k", 20_000), ("2500", 2_500)]
)
def test_sizes_are_read_with_their_suffix(text: str, lines: int) -> None:
    assert parse_size(text) == lines


def test_a_phase_is_split_into_stage_work_and_overhead() -> None:
    step = {"stage": "ingest", "seconds": 5.0, "recording": 1.0}
    runs = [
        {
            "job": "daily_pipeline_job",
            "success": True,
            "load_seconds": 3.0,
            "read_seconds": 2.0,
            "steps": {"raw__orders": step, "warehouse_models": {**step, "stage": "dbt"}},
        }
    ]
    summary = summarise(runs, wall=22.0, peak_rss=1)  # 2 s of it reading the event log
    assert summary.stages["ingest"] == 3.0 and summary.stages["quality"] == 1.0
    assert summary.stages["dbt"] == 4.0 and summary.recording == 2.0
    assert summary.overhead == 12.0 and set(summary.stages) == set(STAGES)


def _run(wall: float, work: float, peak_gib: float) -> RunSummary:
    stages = dict.fromkeys(STAGES, 0.0) | {"ingest": work}
    return RunSummary(wall, stages, recording=0.0, peak_rss=int(peak_gib * 1024**3), success=True)


def test_the_targets_are_judged_on_the_medians() -> None:
    result = SizeResult(10_000_000, 730, 92)
    # Medians: 19 s of work over a 10 s bound (the median of the ratios would be 1.5x),
    # days on the warm run worker of 14 s (long) and 9 s (short), 3.5 GiB.
    for work, bound, peak, long in [
        (15.0, 10.0, 3.0, 14.0),
        (25.0, 10.0, 5.0, 13.0),
        (19.0, 20.0, 3.5, 16.0),
    ]:
        bounds = {"ingest": bound, "quality": 0.0, "dbt": 0.0, "publish": 0.0}
        worker_long = _run(wall=long, work=1.0, peak_gib=1.0)
        worker_short = _run(wall=9.0, work=1.0, peak_gib=1.0)
        cold = _run(wall=30.0, work=1.0, peak_gib=1.0)  # in a new process: not the target
        full = _run(wall=work + 30.0, work=work, peak_gib=peak)
        result.repeats.append(
            Repeat(10_000_000, 1.0, full, bounds, cold, cold, 0.1, worker_long, worker_short)
        )

    met = {
        line.split("|")[1].strip(): (line.split("|")[3].strip(), line.split("|")[4].strip())
        for line in goals_table(result)
        if line.startswith("| ") and not line.startswith("| target")
    }
    assert met["stage work with a bound, x its plain-SQL bound"] == ("1.90x", "yes")
    assert met["orchestration overhead of the full build"] == ("30.0 s", "no")
    assert met["incremental day on the warm run worker, the longer of the two histories"] == (
        "14.0 s",
        "yes",
    )
    assert met["peak memory of the full build"] == ("3.50 GiB", "yes")


def _figure(report: str, row: str) -> float:
    line = next(x for x in report.splitlines() if x.startswith(f"| {row}"))
    measured = line.split("|")[2]
    return float(re.search(r"[\d,]+\.?\d*", measured).group().replace(",", ""))


# Each measured run is a new process with Dagster, dbt and GX start-up: minutes, not seconds.
@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(1200)
def test_the_smoke_run_reports_every_stage(tmp_path: Path, postgres_database: str, monkeypatch):
    monkeypatch.setenv("DATATRENDZ_PUBLISH_URL", postgres_database)
    import psycopg

    with psycopg.connect(postgres_database) as pg:
        pg.execute("create schema analytics")
    out = tmp_path / "benchmarks.md"

    assert main(["--smoke", "--out", str(out), "--work", str(tmp_path / "work")]) == 0

    report = out.read_text()
    assert "do not edit by hand" in report and "bench/run.py --smoke" in report
    assert "| target | goal | measured | met |" in report
    rows = [
        "data generation",
        *STAGE_LABELS.values(),
        "orchestration overhead",
        "full build, wall",
        "incremental day on 5 days of history, in a new process",
        "incremental day on 10 days of history, in a new process",
        "incremental day on 5 days of history, on the warm run worker",
        "incremental day on 10 days of history, on the warm run worker",
        "peak memory (RSS), full build",
        "peak memory (RSS), incremental day",
    ]
    for row in rows:
        assert _figure(report, row) > 0, row


def test_the_publish_bound_exports_the_lake_layout(tmp_path: Path) -> None:
    import datetime as dt

    import duckdb

    from bench.bounds import _lake_export

    conn = duckdb.connect()
    conn.execute("create schema kpi")
    conn.execute(
        "create table kpi.daily as select date '2026-10-30' + i::int as sales_date, i as n"
        " from range(3) t(i)"
    )
    conn.execute("create table kpi.weekly as select 1 as n")
    for name in ("weekly", "daily"):
        conn.execute(_lake_export(conn, "kpi", name, tmp_path)).fetchall()

    assert sorted(p.parent.name for p in (tmp_path / "daily").glob("*/*.parquet")) == [
        "date=2026-10-30",
        "date=2026-10-31",
        "date=2026-11-01",
    ]
    rows = conn.execute(
        f"select date, sales_date, n from read_parquet('{tmp_path}/daily/*/*.parquet',"
        " hive_partitioning = true) order by n"
    ).fetchall()
    assert rows[0] == (dt.date(2026, 10, 30), dt.date(2026, 10, 30), 0)
    assert [p.name for p in (tmp_path / "weekly").iterdir()] == ["data.parquet"]
