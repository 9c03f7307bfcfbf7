"""raw/<source> assets: each day's landing files -> raw.<source> in the DuckDB warehouse.

Every source is its own asset with its own checks, and all of them load in one step: one
warehouse connection for the day's eight loads, and the quality gate's Great Expectations
validations after the last load, so that GX (3 s to import) is imported while DuckDB loads
the files. A run that selects some sources loads only those.
"""

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import duckdb

from datatrendz_pipelines.contracts import Contract, load_contracts
from datatrendz_pipelines.ingestion.landing import LandingZone
from datatrendz_pipelines.ingestion.load import LoadReport, ingest_source
from datatrendz_pipelines.metadata import contract_schema, preview
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.preload import importing_meanwhile
from datatrendz_pipelines.quality.checks import (
    GX_IMPORTS,
    contract_result,
    raw_check_specs,
    raw_key,
    reconcile_result,
    volume_result,
)
from datatrendz_pipelines.quality.data_docs_builds import PendingDataDocs
from datatrendz_pipelines.resources import LandingZoneResource, WarehouseResource
from datatrendz_pipelines.settings import Settings

WAREHOUSE_POOL = "warehouse"
RAW_STEP = "raw_sources"


def referenced_sources(contract: Contract) -> list[str]:
    return sorted(
        {r.value[0] for r in contract.rules if r.kind == "references"} - {contract.source}
    )


def raw_spec(contract: Contract) -> dg.AssetSpec:
    kind_note = (
        "Change files: each day holds the rows that are new or changed that day."
        if contract.kind == "dimension"
        else "One folder of files per day."
    )
    return dg.AssetSpec(
        key=raw_key(contract.source),
        description=(
            f"{contract.description}\n\nLoaded from `landing/{contract.source}/date=YYYY-MM-DD/` "
            f"into `raw.{contract.source}`, typed by the contract. {kind_note} Rows that cannot be "
            f"cast go to `quarantine.{contract.source}`; unreadable files to `rejected/`."
        ),
        # Reference rules look keys up in the referenced raw tables, so those load first.
        deps=[raw_key(source) for source in referenced_sources(contract)],
        group_name="ingestion",
        kinds={"duckdb", "csv", "parquet"},
        metadata={
            "dagster/table_name": f"raw.{contract.source}",
            "dagster/column_schema": contract_schema(contract),
            "required_source": contract.required,
            "primary_key": ", ".join(contract.primary_key),
        },
    )


def load_failure(rejected: list[LoadReport], skipped: list[str]) -> dg.Failure:
    """What a run whose files could not all be read says, and what to do about it."""
    files = [r for report in rejected for r in report.rejected]
    listing = "\n".join(f"- {r.reason}\n  kept at {r.kept_at}" for r in files)
    waiting = (
        f"\nNot loaded, as they reference a source that failed: {', '.join(skipped)}."
        if skipped
        else ""
    )
    return dg.Failure(
        description=(
            f"{len(files)} file(s) of {', '.join(r.source for r in rejected)} could not be "
            f"loaded; their days were left unchanged:\n{listing}{waiting}\nFix each file and put "
            "it back in the landing zone under the same <source>/date=YYYY-MM-DD/ folder, then "
            "re-materialize that partition."
        ),
        metadata={
            "rejected_files": dg.MetadataValue.json([r.kept_at for r in files]),
            "sources_skipped": dg.MetadataValue.json(skipped),
        },
    )


# Called as the raw step starts, with its context: work for the later steps to begin meanwhile.
StepStart = Callable[[dg.AssetExecutionContext], None]


def build_raw_assets(
    partitions_def: dg.PartitionsDefinition, settings: Settings, on_start: StepStart | None = None
) -> dg.AssetsDefinition:
    contracts = load_contracts()
    threshold = settings.quarantine_threshold
    docs_dir = settings.home  # GX keeps its file context and Data Docs in <home>/gx/

    @dg.multi_asset(
        name=RAW_STEP,
        description=(
            "Loads each selected source's landing files for the run's days into raw.<source>, "
            "then runs the quality gate on what was loaded."
        ),
        specs=[raw_spec(c) for c in contracts.values()],
        check_specs=[spec for c in contracts.values() for spec in raw_check_specs(c, threshold)],
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
    )
    def raw_sources(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing_zone: LandingZoneResource,
    ) -> Iterator[dg.MaterializeResult]:
        if on_start:
            on_start(context)
        window = context.partition_time_window
        days = days_in_window(window.start, window.end)
        selected = [
            c for c in contracts.values() if raw_key(c.source) in context.selected_asset_keys
        ]
        docs = PendingDataDocs()
        with importing_meanwhile(GX_IMPORTS), warehouse.connect() as conn:
            loaded, rejected, skipped = _load_sources(
                conn, landing_zone.zone(), selected, days, context
            )
            # The SQL checks and previews first, while GX is still being imported.
            sql_checked = [
                (
                    contract,
                    _load_metadata(conn, report, days, warehouse.path),
                    [
                        *reconcile_result(conn, contract, days, threshold),
                        volume_result(conn, contract, days),
                    ],
                )
                for contract, report in loaded
            ]
            for contract, metadata, checks in sql_checked:
                gx_check = contract_result(
                    conn, contract, days, docs_dir, context.run.run_id, settings.gx_max_rows, docs
                )
                yield dg.MaterializeResult(
                    asset_key=raw_key(contract.source),
                    metadata=metadata,
                    check_results=[*checks, gx_check],
                )
        # The pages the checks link to are written while the run goes on (data_docs_builds).
        docs.build_in_background()
        if rejected:
            raise load_failure(rejected, skipped)

    return raw_sources


def _load_metadata(
    conn: duckdb.DuckDBPyConnection, report: LoadReport, days: list[dt.date], warehouse: str
) -> dict[str, Any]:
    sample = preview(
        conn,
        f'SELECT * EXCLUDE (_loaded_at) FROM raw."{report.source}" WHERE _partition_date = ?',
        [days[-1]],
    )
    return {
        "dagster/row_count": report.rows_loaded,
        "rows_read": report.rows_read,
        "rows_quarantined": report.rows_quarantined,
        "files_loaded": len(report.files),
        "days": len(days),
        "seconds": round(report.seconds, 2),
        "preview": sample,
        "unchecked_references": dg.MetadataValue.json(report.unchecked_references),
        "warehouse": dg.MetadataValue.path(warehouse),
    }


def _load_sources(
    conn: duckdb.DuckDBPyConnection,
    zone: LandingZone,
    contracts: list[Contract],
    days: list[dt.date],
    context: dg.AssetExecutionContext,
) -> tuple[list[tuple[Contract, LoadReport]], list[LoadReport], list[str]]:
    """Load `contracts` in order: (loaded, with their reports), the reports of the sources with
    rejected files, and the sources left alone because a source they reference was rejected."""
    loaded, rejected, skipped = [], [], []
    failed: set[str] = set()
    for contract in contracts:
        if failed.intersection(referenced_sources(contract)):
            skipped.append(contract.source)
            failed.add(contract.source)
            continue
        report = ingest_source(conn, zone, contract, days, context.run.run_id, context.log.info)
        if report.rejected:
            rejected.append(report)
            failed.add(contract.source)
        else:
            loaded.append((contract, report))
    return loaded, rejected, skipped
