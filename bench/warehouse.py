"""Benchmark: the dbt warehouse build against the same SQL run straight in DuckDB (the bound).

    .venv/bin/python bench/warehouse.py --order-lines 1000000 --days 730

Generates a business of the given size, loads it into raw.* with the pipeline's own loader, then
times, on the DuckDB target:
- a full `dbt build` (models and tests) and `dbt run` (models only);
- one day (`--vars` for the last day) on top of the whole history, `dbt run`;
- the same models' compiled SQL executed directly in DuckDB in dependency order (full, and the
  last day with each incremental model's delete+insert), which is the lower bound.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.demo import GeneratorConfig, generate
from datatrendz_pipelines.ingestion.landing import LandingZone
from datatrendz_pipelines.ingestion.load import ingest_source
from datatrendz_pipelines.settings import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt(args: list[str], warehouse: Path, target_path: Path) -> float:
    env = os.environ | {"DATATRENDZ_WAREHOUSE_PATH": str(warehouse)}
    started = time.perf_counter()
    subprocess.run(
        [
            DBT,
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_path),
            "--quiet",
        ],
        check=True,
        env=env,
    )
    return time.perf_counter() - started


def ordered_models(manifest: dict) -> list[dict]:
    """Model nodes in dependency order."""
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    done: list[str] = []

    def visit(key: str) -> None:
        if key in done or key not in models:
            return
        for parent in models[key]["depends_on"]["nodes"]:
            visit(parent)
        done.append(key)

    for key in sorted(models):
        visit(key)
    return [models[k] for k in done]


def _delete_matching(relation: str, unique_key: str | list[str] | None) -> str | None:
    """The DELETE that makes room for the rows of _new, or None when the model only appends."""
    if not unique_key:
        return None
    keys = [unique_key] if isinstance(unique_key, str) else list(unique_key)
    columns = ", ".join(keys)
    return f"DELETE FROM {relation} WHERE ({columns}) IN (SELECT DISTINCT {columns} FROM _new)"


def run_compiled(warehouse: Path, manifest_path: Path, incremental_day: bool) -> float:
    """Execute every model's compiled SQL in DuckDB and return the seconds: CREATE OR REPLACE for
    tables and views, or delete+insert of the compiled rows for incremental models when
    `incremental_day` (by `unique_key`, one column or several; append when there is none)."""
    manifest = json.loads(manifest_path.read_text())
    started = time.perf_counter()
    with duckdb.connect(str(warehouse)) as conn:
        for node in ordered_models(manifest):
            relation = node["relation_name"]
            sql = node["compiled_code"]
            config = node["config"]
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{node["schema"]}"').fetchall()
            if incremental_day and config["materialized"] == "incremental":
                conn.execute(f"CREATE OR REPLACE TEMP TABLE _new AS {sql}").fetchall()
                delete = _delete_matching(relation, config.get("unique_key"))
                if delete:
                    conn.execute(delete).fetchall()
                conn.execute(f"INSERT INTO {relation} BY NAME SELECT * FROM _new").fetchall()
            else:
                kind = "VIEW" if config["materialized"] == "view" else "TABLE"
                conn.execute(f"CREATE OR REPLACE {kind} {relation} AS {sql}").fetchall()
    return time.perf_counter() - started


def model_schemas(manifest_path: Path) -> set[str]:
    """The schemas the dbt models build into (from a parsed or compiled manifest)."""
    manifest = json.loads(manifest_path.read_text())
    return {v["schema"] for v in manifest["nodes"].values() if v["resource_type"] == "model"}


def sql_bounds(
    built: Path, work: Path, last_day: dt.date, parsed_manifest: Path
) -> tuple[float, float]:
    """(full, one day) seconds of the plain-SQL bound of the dbt build, on a copy of `built`.

    `built` is a warehouse holding raw.* (and anything else outside the models' schemas, such as
    the forecasts). The copy loses every model schema, the models' compiled SQL is run straight
    in DuckDB in dependency order (full), then the last day's compiled SQL (delete+insert of
    each incremental model). The copy keeps the file name, so compiled relation names resolve.
    """
    bound = work / "bound" / built.name
    bound.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, bound)
    with duckdb.connect(str(bound)) as conn:
        for schema in sorted(model_schemas(parsed_manifest)):
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE').fetchall()
    target = work / "bound_target"
    # Compiled against a warehouse without the models, is_incremental() is false: full SQL.
    dbt(["compile"], bound, target)
    full_manifest = work / "full_manifest.json"
    shutil.copy(target / "manifest.json", full_manifest)
    full = run_compiled(bound, full_manifest, incremental_day=False)
    day_vars = json.dumps({"min_date": last_day.isoformat(), "max_date": last_day.isoformat()})
    dbt(["compile", "--vars", day_vars], bound, target)
    day = run_compiled(bound, target / "manifest.json", incremental_day=True)
    return full, day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--order-lines", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dt-bench-"))
    try:
        end = dt.date(2026, 10, 31)
        config = GeneratorConfig(
            start=end - dt.timedelta(days=args.days - 1),
            days=args.days,
            scale="medium",
            order_lines=args.order_lines,
            fault_rate=0.0,
        )
        t = time.perf_counter()
        generate(config, work / "landing", work / "demo")
        print(
            f"generated {args.order_lines:,} order lines over {args.days} days in {time.perf_counter() - t:.1f}s"
        )
        raw = work / "dbt" / "warehouse.duckdb"
        raw.parent.mkdir()
        zone = LandingZone(work / "landing", work / "archive", work / "rejected")
        days = [config.start + dt.timedelta(days=i) for i in range(args.days)]
        t = time.perf_counter()
        with duckdb.connect(str(raw)) as conn:
            for contract in load_contracts().values():
                ingest_source(conn, zone, contract, days)
        print(f"loaded raw.* in {time.perf_counter() - t:.1f}s")
        pristine = work / "raw_only.duckdb"
        shutil.copy(raw, pristine)

        target = work / "target"
        full_build = dbt(["build"], raw, target)
        shutil.copy(pristine, raw)
        full_run = dbt(["run"], raw, target)
        last = end.isoformat()
        day_vars = json.dumps({"min_date": last, "max_date": last})
        day_run = dbt(["run", "--vars", day_vars], raw, target)
        day_build = dbt(["build", "--vars", day_vars], raw, target)

        # The bound: the same compiled SQL, straight into a copy holding only raw.*.
        sql_full, sql_day = sql_bounds(pristine, work, end, target / "manifest.json")

        print(f"\n{'':<34}{'seconds':>9}{'x bound':>9}")
        for label, seconds, bound_s in [
            ("full dbt build (models + tests)", full_build, sql_full),
            ("full dbt run (models)", full_run, sql_full),
            ("plain DuckDB SQL, full", sql_full, sql_full),
            ("one day: dbt build", day_build, sql_day),
            ("one day: dbt run", day_run, sql_day),
            ("plain DuckDB SQL, one day", sql_day, sql_day),
        ]:
            print(f"{label:<34}{seconds:>9.2f}{seconds / bound_s:>9.1f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
