"""Benchmark of the whole pipeline on generated data, next to plain-SQL lower bounds.

    make bench                      # 1M and 10M order lines, 3 repeats, docs/benchmarks.md
    .venv/bin/python bench/run.py --sizes 1M,10M --repeats 3 --out docs/benchmarks.md
    .venv/bin/python bench/run.py --smoke --out /tmp/bench.md   # tiny, 1 repeat (the test)

For each size and repeat, in a scratch folder:
1. generate `--days` of demo data (no faults, no anomalies) ending on a fixed day: lines/s;
2. the full build in a fresh process, as `make demo` runs it (bench/pipeline.py `full`), on its
   own local Dagster instance, publishing to a scratch PostgreSQL database; per-stage work from
   the runs' step events, the orchestration overhead as wall time minus that work, peak RSS of
   the process tree;
3. the plain-SQL bounds on what that build loaded (bench/bounds.py);
4. one day of the daily job on top of that history, in a new process (`day`) and handed to a
   warm run worker started for it (`worker-day`, as `make serve` runs the scheduled days), and
   the same on a second business with `--short-days` of history and the same lines per day
   (built with `range` first, using the first business's champion models), so the two daily
   runs can be compared.
Figures are medians over the repeats. The report is written to `--out` and printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the checkout importable as `bench`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.figures import Repeat, SizeResult, summarise
from bench.memory import run_measured
from bench.report import render

PROJECT_ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2026, 10, 31)
ADMIN_URL_VAR = "DATATRENDZ_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Variables of the caller's own setup that must not leak into the measured runs.
DROPPED_VARS = (
    "DAGSTER_HOME",
    "MLFLOW_TRACKING_URI",
    "DATATRENDZ_PUBLISH_ROLE",
    "DATATRENDZ_PII_SALT",
)
KEPT_PREFIXED = (
    "DATATRENDZ_DUCKDB_THREADS",
    "DATATRENDZ_DUCKDB_MEMORY_LIMIT",
    "DATATRENDZ_TIMEZONE",
)


def parse_size(text: str) -> int:
    """'1M' -> 1_000_000, '20k' -> 20_000, '500000' -> 500_000."""
    text = text.strip().lower().replace("_", "")
    for suffix, factor in (("k", 1_000), ("m", 1_000_000)):
        if text.endswith(suffix):
            return int(float(text[:-1]) * factor)
    return int(text)


def label(lines: int) -> str:
    if lines >= 1_000_000 and lines % 1_000_000 == 0:
        return f"{lines // 1_000_000}M"
    if lines >= 1_000 and lines % 1_000 == 0:
        return f"{lines // 1_000}k"
    return f"{lines:,}"


@contextmanager
def publish_database() -> Iterator[str]:
    """DATATRENDZ_PUBLISH_URL when set; else a new database on the local server, dropped after."""
    from datatrendz_pipelines.publishing.bench_publish import scratch_database

    if os.environ.get("DATATRENDZ_PUBLISH_URL"):
        yield os.environ["DATATRENDZ_PUBLISH_URL"]
        return
    with scratch_database(
        os.environ.get(ADMIN_URL_VAR, DEFAULT_ADMIN_URL), "datatrendz_bench"
    ) as url:
        yield url


def child_env(home: Path, start: dt.date, publish_url: str, mlflow_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in DROPPED_VARS and (not k.startswith("DATATRENDZ_") or k in KEPT_PREFIXED)
    }
    return env | {
        "DATATRENDZ_HOME": str(home),
        "DAGSTER_HOME": str(home / "dagster"),
        "DATATRENDZ_PARTITIONS_START": start.isoformat(),
        "DATATRENDZ_PUBLISH_URL": publish_url,
        "MLFLOW_TRACKING_URI": f"sqlite:///{mlflow_dir / 'mlflow.db'}",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    }


@contextmanager
def warm_run_worker(home: Path, env: dict[str, str]) -> Iterator[dict[str, str]]:
    """A run worker for `home`'s instance, started and ready (its imports are not measured);
    the environment that hands runs to it."""
    from datatrendz_pipelines.instance import RANGE_RUN_ENVIRONMENT
    from datatrendz_pipelines.run_worker import (
        SOCKET_ENV,
        default_socket_path,
        wait_ready,
        worker_command,
    )

    path = default_socket_path(env["DAGSTER_HOME"])
    worker_env = RANGE_RUN_ENVIRONMENT | env | {SOCKET_ENV: str(path)}
    with (home / "run-worker.log").open("ab") as log:
        process = subprocess.Popen(
            worker_command(path),
            env=worker_env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(path, 600, process)
        yield worker_env
    finally:
        process.terminate()
        process.wait(60)
        path.unlink(missing_ok=True)


def generate_business(home: Path, lines: int, days: int) -> tuple[int, float]:
    """Write `days` of demo data ending on END into home/landing; (order lines, seconds)."""
    from datatrendz_pipelines.demo import GeneratorConfig, generate

    config = GeneratorConfig(
        start=END - dt.timedelta(days=days - 1),
        days=days,
        scale="medium",
        order_lines=lines,
        fault_rate=0.0,
        anomalies=False,
    )
    started = time.perf_counter()
    manifest = generate(config, home / "landing", home / "demo")
    return manifest.total_rows("order_lines"), time.perf_counter() - started


def run_phase(phase: str, home: Path, start: dt.date, env: dict[str, str]):
    """Run bench/pipeline.py PHASE in a new process; its summary (see bench/figures.py)."""
    import json

    out = home / f"{phase}-{uuid.uuid4().hex[:6]}.json"
    command = [sys.executable, "-m", "bench.pipeline", phase, start.isoformat(), END.isoformat()]
    measured = run_measured([*command, str(out)], env, home / "bench.log", PROJECT_ROOT)
    runs = json.loads(out.read_text()) if out.exists() else []
    if phase == "worker-day":
        # The run's time from the hand-over to its end; its memory is the worker's child's.
        wall = sum(r["seconds"] + r["read_seconds"] for r in runs)
        summary = summarise(runs, wall, 0)
    else:
        summary = summarise(runs, measured.seconds, measured.peak_rss_bytes)
    if measured.returncode != 0 or not summary.success:
        raise SystemExit(f"bench: the {phase} phase failed; see {home / 'bench.log'}")
    return summary


def measure_repeat(
    work: Path, lines: int, days: int, short_days: int, publish_url: str, keep: bool
) -> Repeat:
    from bench import bounds
    from bench.warehouse import sql_bounds

    home = work / "long"
    short = work / "short"
    for folder in (home, short):
        shutil.rmtree(folder, ignore_errors=True)
    start = END - dt.timedelta(days=days - 1)
    generated, gen_seconds = generate_business(home, lines, days)
    env = child_env(home, start, publish_url, home / "mlflow")
    full = run_phase("full", home, start, env)

    warehouse = home / "warehouse.duckdb"
    threads = int(os.environ.get("DATATRENDZ_DUCKDB_THREADS", "2"))
    dbt_full, dbt_day = sql_bounds(
        warehouse,
        work / "dbt_bound",
        END,
        home / "dbt" / "duckdb" / "manifest.json",  # the build's parse (warehouse.project)
    )
    shutil.rmtree(work / "dbt_bound", ignore_errors=True)
    bound = {
        "ingest": bounds.ingest_bound(home / "archive", work, threads),
        "quality": bounds.gate_bound(warehouse, work),
        "dbt": dbt_full,
        "publish": bounds.publish_bound(
            warehouse, publish_url, bounds.published_tables(publish_url), work
        ),
    }
    day_long = run_phase("day", home, start, env)
    with warm_run_worker(home, env) as worker_env:
        worker_long = run_phase("worker-day", home, start, worker_env)

    short_start = END - dt.timedelta(days=short_days - 1)
    generate_business(short, round(lines * short_days / days), short_days)
    short_env = child_env(short, short_start, publish_url, home / "mlflow")
    run_phase("range", short, short_start, short_env)
    day_short = run_phase("day", short, short_start, short_env)
    with warm_run_worker(short, short_env) as worker_env:
        worker_short = run_phase("worker-day", short, short_start, worker_env)
    if not keep:
        for folder in (home, short):
            shutil.rmtree(folder, ignore_errors=True)
    return Repeat(
        generated, gen_seconds, full, bound, day_long, day_short, dbt_day, worker_long, worker_short
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,10M", help="order lines per size, e.g. 1M,10M")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (median reported)")
    parser.add_argument("--days", type=int, default=730, help="days of history (default 730)")
    parser.add_argument(
        "--short-days", type=int, default=92, help="days of the short history (default 92)"
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch data")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny: 20k lines over 10 days (short history: 5), 1 repeat (the smoke test)",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeats, args.days, args.short_days = "20k", 1, 10, 5
    command = "bench/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    if not 1 <= args.short_days < args.days:
        parser.error("--short-days must be at least 1 and less than --days")
    work = args.work or Path(tempfile.mkdtemp(prefix="datatrendz-bench-"))
    results = []
    try:
        with publish_database() as publish_url:
            for lines in sizes:
                result = SizeResult(lines, args.days, args.short_days)
                for index in range(args.repeats):
                    print(
                        f"bench: {label(lines)} lines, repeat {index + 1}/{args.repeats}",
                        flush=True,
                    )
                    result.repeats.append(
                        measure_repeat(
                            work / label(lines),
                            lines,
                            args.days,
                            args.short_days,
                            publish_url,
                            args.keep,
                        )
                    )
                results.append(result)
    finally:
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    text = render(results, command.strip(), dt.datetime.now(dt.UTC))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    # A plain `kill` still drops the scratch database and stops the measured run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
