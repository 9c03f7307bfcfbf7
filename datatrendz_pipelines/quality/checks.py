"""The quality gate as Dagster asset checks on every raw/<source> asset.

Four checks per source, all evaluated in the step that loads the days, so that a failure blocks
the downstream assets of exactly that run:
- rows_reconcile (ERROR): rows in the files = rows in raw + rows in quarantine, every day;
- quarantine_share_below_threshold (ERROR): the day is unusable when too many rows were bad;
- volume_within_band (ERROR when a required source is empty for a day, else WARN): a slow day
  warns, it does not stop the pipeline;
- meets_contract (ERROR when rows left in raw break a key rule, else WARN): Great Expectations
  suite built from the contract, run on the rows that stayed in raw (all of them, or a sample
  when a backfill holds more than DATATRENDZ_GX_MAX_ROWS), with Data Docs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import pyarrow as pa

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.ingestion.tables import ident
from datatrendz_pipelines.quality.data_docs_builds import PendingDataDocs
from datatrendz_pipelines.quality.day_checks import day_counts, volume_findings

if TYPE_CHECKING:
    import pandas as pd

# GX validates a pandas frame: chunks of days keep memory flat on a long backfill.
GX_MAX_ROWS_PER_CHUNK = 500_000
# What the validations import (3 s on two cores): the raw step imports it while DuckDB loads.
GX_IMPORTS = (
    "great_expectations",
    "great_expectations.expectations",
    "datatrendz_pipelines.quality.gx_validation",
    "datatrendz_pipelines.quality.data_docs_views",
)


def raw_key(source: str) -> dg.AssetKey:
    """The raw/<source> asset the source's checks are on."""
    return dg.AssetKey(["raw", source])


def check_names(source: str) -> dict[str, str]:
    return {
        "reconcile": f"{source}_rows_reconcile",
        "share": f"{source}_quarantine_share_below_threshold",
        "volume": f"{source}_volume_within_band",
        "contract": f"{source}_meets_contract",
    }


def raw_check_specs(contract: Contract, threshold: float) -> list[dg.AssetCheckSpec]:
    names = check_names(contract.source)
    key = raw_key(contract.source)
    return [
        dg.AssetCheckSpec(
            names["reconcile"],
            asset=key,
            blocking=True,
            description="Rows in the day's files = rows in raw + rows in quarantine.",
        ),
        dg.AssetCheckSpec(
            names["share"],
            asset=key,
            blocking=True,
            description=f"At most {threshold:.0%} of a day's rows were quarantined.",
        ),
        dg.AssetCheckSpec(
            names["volume"],
            asset=key,
            blocking=True,
            description=(
                "The day's row count lies within the contract's band around the "
                "trailing average (warns); a required source with no rows fails."
            ),
        ),
        dg.AssetCheckSpec(
            names["contract"],
            asset=key,
            blocking=True,
            description=(
                "Great Expectations suite built from the contract, on the rows left "
                "in raw: key rules fail, soft rules warn."
            ),
        ),
    ]


def _days(values: list[dt.date]) -> list[str]:
    return [d.isoformat() for d in values]


def reconcile_result(
    conn: duckdb.DuckDBPyConnection, contract: Contract, days: list[dt.date], threshold: float
) -> list[dg.AssetCheckResult]:
    names = check_names(contract.source)
    counts = day_counts(conn, contract.source, days)
    broken = [c for c in counts if not c.reconciles]
    over = [c for c in counts if c.quarantine_share > threshold]
    totals = {
        "rows_read": sum(c.rows_read for c in counts),
        "rows_raw": sum(c.rows_raw for c in counts),
        "rows_quarantined": sum(c.rows_quarantined for c in counts),
    }
    worst = max(counts, key=lambda c: c.quarantine_share, default=None)
    return [
        dg.AssetCheckResult(
            asset_key=raw_key(contract.source),
            check_name=names["reconcile"],
            passed=not broken,
            metadata={
                **totals,
                "days_checked": len(counts),
                "days_not_reconciling": dg.MetadataValue.json(
                    [
                        {
                            "day": c.day.isoformat(),
                            "read": c.rows_read,
                            "raw": c.rows_raw,
                            "quarantined": c.rows_quarantined,
                        }
                        for c in broken[:20]
                    ]
                ),
            },
        ),
        dg.AssetCheckResult(
            asset_key=raw_key(contract.source),
            check_name=names["share"],
            passed=not over,
            metadata={
                "threshold": threshold,
                "worst_day": worst.day.isoformat() if worst else "",
                "worst_share": round(worst.quarantine_share, 4) if worst else 0.0,
                "days_over_threshold": dg.MetadataValue.json(_days([c.day for c in over])),
            },
            description=(
                f"{len(over)} day(s) had more than {threshold:.0%} of rows quarantined: "
                "see quarantine." + contract.source
            )
            if over
            else None,
        ),
    ]


def volume_result(
    conn: duckdb.DuckDBPyConnection, contract: Contract, days: list[dt.date]
) -> dg.AssetCheckResult:
    findings = volume_findings(conn, contract, days)
    empty = [f for f in findings if f.problem == "empty"]
    return dg.AssetCheckResult(
        asset_key=raw_key(contract.source),
        check_name=check_names(contract.source)["volume"],
        passed=not findings,
        severity=dg.AssetCheckSeverity.ERROR if empty else dg.AssetCheckSeverity.WARN,
        metadata={
            "days_checked": len(days),
            "empty_days": dg.MetadataValue.json(_days([f.day for f in empty])),
            "days_outside_band": dg.MetadataValue.json(
                [
                    {
                        "day": f.day.isoformat(),
                        "rows": f.rows,
                        "expected_low": f.expected_low,
                        "expected_high": f.expected_high,
                        "problem": f.problem,
                    }
                    for f in findings
                    if f.problem != "empty"
                ]
            ),
        },
        description=(
            f"required source {contract.source} has no rows on {', '.join(_days([f.day for f in empty][:5]))}"
            if empty
            else None
        ),
    )


@dataclass(frozen=True)
class ValidationPlan:
    """Which rows of a run's days GX validates: all of them in chunks of whole days, or, when
    they are more than the run's budget, one uniform random sample of about `sample_rows`."""

    rows_in_days: int
    chunks: list[list[dt.date]]
    sample_rows: int = 0

    @property
    def sampled(self) -> bool:
        return self.sample_rows > 0


def validation_plan(
    conn: duckdb.DuckDBPyConnection, source: str, days: list[dt.date], max_rows: int
) -> ValidationPlan:
    """Every row when the days hold at most `max_rows` (0: no limit), in chunks of at most
    GX_MAX_ROWS_PER_CHUNK rows (a day is never split); else a sample of `max_rows`. The SQL row
    rules have already checked every row on load; the sample keeps a long backfill's GX cost
    and memory at those of about `max_rows` rows."""
    per_day = dict(
        conn.execute(
            f'SELECT _partition_date, count(*) FROM raw."{source}" '
            "WHERE _partition_date IN (SELECT unnest($days)) GROUP BY ALL",
            {"days": days},
        ).fetchall()
    )
    rows = sum(per_day.values())
    if max_rows and rows > max_rows:
        return ValidationPlan(rows, [days], sample_rows=max_rows)
    chunks: list[list[dt.date]] = [[]]
    size = 0
    for day in days:
        n = per_day.get(day, 0)
        if chunks[-1] and size + n > GX_MAX_ROWS_PER_CHUNK:
            chunks.append([])
            size = 0
        chunks[-1].append(day)
        size += n
    return ValidationPlan(rows, chunks)


def plan_frames(
    conn: duckdb.DuckDBPyConnection,
    source: str,
    plan: ValidationPlan,
    columns: Sequence[str] | None = None,
) -> Iterator[pd.DataFrame]:
    """The planned rows of raw.<source>, one DataFrame per chunk (or the one sample): `columns`
    and `_partition_date`, or every column."""
    from datatrendz_pipelines.quality.gx_validation import frame_from_duckdb

    selected = "*"
    if columns is not None:
        selected = ", ".join(ident(c) for c in [*columns, "_partition_date"])
    select = (
        f'SELECT {selected} FROM raw."{source}" WHERE _partition_date IN (SELECT unnest($days))'
    )
    if plan.sampled:
        # Each row kept with the same chance, so about sample_rows of them: a reservoir of
        # exactly that many took 9 s for 1M of 2.8M rows, this 0.5 s.
        percent = 100 * plan.sample_rows / plan.rows_in_days
        select += f" USING SAMPLE {percent:.6f} PERCENT (bernoulli, 7)"
    for chunk in plan.chunks:
        yield frame_from_duckdb(conn, select, {"days": chunk})


def contract_result(
    conn: duckdb.DuckDBPyConnection,
    contract: Contract,
    days: list[dt.date],
    docs_dir: Path,
    run_name: str,
    max_rows: int = 0,
    docs: PendingDataDocs | None = None,
) -> dg.AssetCheckResult:
    """The GX check of `days`; its Data Docs pages are built before this returns, or added to
    `docs` to be built later."""
    from datatrendz_pipelines.quality.gx_validation import validate_frame

    plan = validation_plan(conn, contract.source, days, max_rows)
    summaries = [
        validate_frame(contract, frame, docs_dir=docs_dir, run_name=run_name, docs=docs)
        # The contract's columns only: GX filters every column of the frame for each
        # expectation, and the lineage columns have no expectations.
        for frame in plan_frames(conn, contract.source, plan, contract.column_names)
    ]
    # Arrow's allocator keeps the frames' freed buffers for reuse; the run's later steps (dbt
    # in a process of its own) are better served by giving them back.
    pa.default_memory_pool().release_unused()
    blocking = [o for s in summaries for o in s.blocking_failures]
    failed = [o for s in summaries for o in s.outcomes if not o.success]
    last = summaries[-1]
    metadata = {
        "rows_validated": sum(s.rows for s in summaries),
        "rows_in_days": plan.rows_in_days,
        "sampled": plan.sampled,
        "expectations_evaluated": sum(s.evaluated for s in summaries),
        "expectations_failed": sum(s.failed for s in summaries),
        "gx_seconds": round(sum(s.seconds for s in summaries), 2),
        "failures": dg.MetadataValue.json(
            [
                {
                    "rule": o.rule,
                    "expectation": o.expectation,
                    "column": o.column,
                    "unexpected_count": o.unexpected_count,
                    "sample": o.unexpected_sample,
                    "blocking": o.blocking,
                }
                for o in failed[:30]
            ]
        ),
    }
    if plan.sampled:
        metadata["note"] = (
            f"a uniform sample of {metadata['rows_validated']:,} of the {plan.rows_in_days:,} rows "
            "(DATATRENDZ_GX_MAX_ROWS); the SQL row rules checked every row on load"
        )
    if last.data_docs_url:
        metadata["data_docs"] = dg.MetadataValue.url(last.data_docs_url)
    return dg.AssetCheckResult(
        asset_key=raw_key(contract.source),
        check_name=check_names(contract.source)["contract"],
        passed=not failed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
        description=(
            "rows left in raw break key rules: " + ", ".join(sorted({o.rule for o in blocking}))
            if blocking
            else None
        ),
    )
