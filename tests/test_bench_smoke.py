"""The benchmark harness (bench/run.py) at a tiny size, so it keeps working between real runs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.figures import STAGES, summarise
from bench.report import STAGE_LABELS
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
            "steps": {"raw__orders": step, "warehouse_models": {**step, "stage": "dbt"}},
        }
    ]
    summary = summarise(runs, wall=20.0, peak_rss=1)
    assert summary.stages["ingest"] == 3.0 and summary.stages["quality"] == 1.0
    assert summary.stages["dbt"] == 4.0 and summary.recording == 2.0
    assert summary.overhead == 12.0 and set(summary.stages) == set(STAGES)


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
    rows = [
        "data generation",
        *STAGE_LABELS.values(),
        "orchestration overhead",
        "full build, wall",
        "incremental day on 5 days",
        "incremental day on 10 days",
        "peak memory (RSS), full build",
        "peak memory (RSS), incremental day",
    ]
    for row in rows:
        assert _figure(report, row) > 0, row
