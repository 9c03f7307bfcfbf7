"""raw/<source> assets: one day's landing files -> raw.<source> in the DuckDB warehouse."""

from collections.abc import Callable

import dagster as dg

from datatrendz_pipelines.contracts import Contract, load_contracts
from datatrendz_pipelines.ingestion.load import LoadReport, ingest_source
from datatrendz_pipelines.metadata import contract_schema, preview
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.quality.checks import (
    contract_result,
    raw_check_specs,
    reconcile_result,
    volume_result,
)
from datatrendz_pipelines.resources import LandingZoneResource, WarehouseResource
from datatrendz_pipelines.settings import Settings

WAREHOUSE_POOL = "warehouse"


def _failure(report: LoadReport) -> dg.Failure:
    listing = "\n".join(f"- {r.reason}\n  kept at {r.kept_at}" for r in report.rejected)
    return dg.Failure(
        description=(
            f"{len(report.rejected)} {report.source} file(s) could not be loaded; their days were "
            f"left unchanged:\n{listing}\nFix each file and put it back in the landing zone "
            "under the same <source>/date=YYYY-MM-DD/ folder, then re-materialize that partition."
        ),
        metadata={
            "rejected_files": dg.MetadataValue.json([r.kept_at for r in report.rejected]),
            "days_loaded": len(report.days_loaded),
        },
    )


def referenced_sources(contract: Contract) -> list[str]:
    return sorted(
        {r.value[0] for r in contract.rules if r.kind == "references"} - {contract.source}
    )


# Called as each raw step starts, with its context: work for the later steps to begin meanwhile.
StepStart = Callable[[dg.AssetExecutionContext], None]


def build_raw_asset(
    contract: Contract,
    partitions_def: dg.PartitionsDefinition,
    settings: Settings,
    on_start: StepStart | None = None,
) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", contract.source])
    threshold = settings.quarantine_threshold
    docs_dir = settings.home  # GX keeps its file context and Data Docs in <home>/gx/
    kind_note = (
        "Change files: each day holds the rows that are new or changed that day."
        if contract.kind == "dimension"
        else "One folder of files per day."
    )

    @dg.asset(
        key=key,
        description=(
            f"{contract.description}\n\nLoaded from `landing/{contract.source}/date=YYYY-MM-DD/` "
            f"into `raw.{contract.source}`, typed by the contract. {kind_note} Rows that cannot be "
            f"cast go to `quarantine.{contract.source}`; unreadable files to `rejected/`."
        ),
        # Reference rules look keys up in the referenced raw tables, so those load first.
        deps=[dg.AssetKey(["raw", source]) for source in referenced_sources(contract)],
        group_name="ingestion",
        kinds={"duckdb", "csv", "parquet"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        check_specs=raw_check_specs(contract, key, threshold),
        metadata={
            "dagster/table_name": f"raw.{contract.source}",
            "dagster/column_schema": contract_schema(contract),
            "required_source": contract.required,
            "primary_key": ", ".join(contract.primary_key),
        },
    )
    def raw_asset(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing_zone: LandingZoneResource,
    ) -> dg.MaterializeResult:
        if on_start:
            on_start(context)
        window = context.partition_time_window
        days = days_in_window(window.start, window.end)
        with warehouse.connect() as conn:
            report = ingest_source(
                conn, landing_zone.zone(), contract, days, context.run.run_id, context.log.info
            )
            if report.rejected:
                raise _failure(report)
            sample = preview(
                conn,
                f'SELECT * EXCLUDE (_loaded_at) FROM raw."{contract.source}" WHERE _partition_date = ?',
                [days[-1]],
            )
            checks = [
                *reconcile_result(conn, contract, days, threshold),
                volume_result(conn, contract, days),
                contract_result(
                    conn, contract, days, docs_dir, context.run.run_id, settings.gx_max_rows
                ),
            ]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": report.rows_loaded,
                "rows_read": report.rows_read,
                "rows_quarantined": report.rows_quarantined,
                "files_loaded": len(report.files),
                "days": len(days),
                "seconds": round(report.seconds, 2),
                "preview": sample,
                "unchecked_references": dg.MetadataValue.json(report.unchecked_references),
                "warehouse": dg.MetadataValue.path(warehouse.path),
            },
            check_results=checks,
        )

    return raw_asset


def build_raw_assets(
    partitions_def: dg.PartitionsDefinition, settings: Settings, on_start: StepStart | None = None
) -> list[dg.AssetsDefinition]:
    return [
        build_raw_asset(c, partitions_def, settings, on_start) for c in load_contracts().values()
    ]
