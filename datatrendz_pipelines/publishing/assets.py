"""analytics/<table> assets: KPI tables published to PostgreSQL for BI tools and to the Parquet lake.

A published asset runs after its KPI table in the same run, so it only publishes data whose
blocking checks upstream passed (a failed blocking check stops the run before it).
"""

import datetime as dt
import time
from collections.abc import Mapping, Sequence

import dagster as dg
import duckdb
import pyarrow as pa
from pydantic import Field

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.ingestion.assets import WAREHOUSE_POOL
from datatrendz_pipelines.partitions import days_in_window
from datatrendz_pipelines.resources import WarehouseResource
from datatrendz_pipelines.retries import TRANSIENT_RETRY

# Tables keyed by day, whose dbt models rebuild only the run's days: these publish only those
# days, so a daily publish costs the same on any history (replacing them whole grew from 2.4 s
# on 3 months to 11.5 s on 2 years at 1M order lines). Their first column is the day, which
# also partitions their Parquet export. The weekly, cohort and forecast tables change rows
# outside the run's days and are replaced whole.
PUBLISHED_BY_DAY = {
    "kpi_daily_sales": "sales_date",
    "kpi_top_products_daily": "sales_date",
    "kpi_customers_daily": "customer_date",
    "kpi_web_funnel_daily": "session_date",
    "kpi_marketing_daily": "marketing_date",
    "kpi_executive_summary": "summary_date",
    "kpi_inventory_health": "snapshot_date",
}


class PublishTargetResource(dg.ConfigurableResource):
    """Where published tables go: a PostgreSQL database (optional) and the Parquet lake."""

    postgres_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the analytics database (DATATRENDZ_PUBLISH_URL); unset = lake only.",
    )
    schema_name: str = Field(default="analytics", description="Schema BI tools read.")
    writer_role: str | None = Field(
        default=None, description="Role to SET before writing, so it owns the tables."
    )
    reader_role: str = Field(default="datatrendz_bi", description="Read-only role for BI tools.")
    lake_dir: str = Field(description="Root of the Parquet export (a path or pyarrow/fsspec URI).")
    pii_salt: str | None = Field(
        default=None, description="Salt for hashing personal data (DATATRENDZ_PII_SALT)."
    )


def date_column_of(table: pa.Table) -> str | None:
    """The table's day column for hive partitioning: its first column, when that is a DATE."""
    if table.num_columns and pa.types.is_date(table.schema.field(0).type):
        return table.schema.field(0).name
    return None


def read_table(
    conn: duckdb.DuckDBPyConnection,
    schema: str,
    name: str,
    days: list[dt.date] | None = None,
    date_column: str | None = None,
) -> pa.Table:
    """A warehouse table (or only `days` of it) as Arrow, in a stable order."""
    where = ""
    params: dict = {}
    if days is not None and date_column is not None:
        where = f' WHERE "{date_column}" BETWEEN $first AND $last'
        params = {"first": days[0], "last": days[-1]}
    sql = f'SELECT * FROM "{schema}"."{name}"{where} ORDER BY ALL'
    return conn.sql(sql, params=params).to_arrow_table()


def personal_columns() -> set[str]:
    return {c for contract in load_contracts().values() for c in contract.pii_columns}


def _pii_safe(table: pa.Table, salt: str | None) -> pa.Table:
    from datatrendz_pipelines.publishing.privacy import protect_personal_data

    present = sorted(personal_columns() & set(table.column_names))
    if not present:
        return table
    return protect_personal_data(table, present, salt, "hash" if salt else "drop")


def _publish_postgres(
    target: PublishTargetResource, table: pa.Table, name: str, days: list[dt.date], run_id: str
) -> dict:
    from datatrendz_pipelines.publishing.comments import comments_from_dbt_manifest
    from datatrendz_pipelines.publishing.postgres import publish_partitions, publish_table
    from datatrendz_pipelines.warehouse.project import dbt_project

    try:
        comments = comments_from_dbt_manifest(dbt_project().manifest_path, name)
    except KeyError:  # not a dbt model (the forecast tables): published without comments
        comments = None
    common = dict(
        schema=target.schema_name,
        name=name,
        comments=comments,
        reader_role=target.reader_role,
        role=target.writer_role,
        as_of_date=days[-1],
        dagster_run_id=run_id,
    )
    if name in PUBLISHED_BY_DAY:
        result = publish_partitions(
            target.postgres_url, table, date_column=PUBLISHED_BY_DAY[name], days=days, **common
        )
    else:
        result = publish_table(target.postgres_url, table, **common)
    return {
        "postgres_rows": result.rows,
        "postgres_bytes": dg.MetadataValue.int(result.bytes),
        "postgres_seconds": round(result.seconds, 2),
        "read_it_with": dg.MetadataValue.md(
            f"```sql\nSELECT * FROM {target.schema_name}.{name} LIMIT 100;\n```"
        ),
    }


def build_publish_asset(
    source: dg.AssetKey,
    partitions_def: dg.PartitionsDefinition,
    read_through_view: Sequence[dg.AssetKey] = (),
) -> dg.AssetsDefinition:
    """`read_through_view`: the tables `source`, a view, reads when queried (published after
    them)."""
    schema, name = source.path[0], source.path[-1]
    through = "".join(
        f" It reads `{'.'.join(k.path)}` through the view." for k in read_through_view
    )

    @dg.asset(
        key=dg.AssetKey(["analytics", name]),
        deps=[source, *read_through_view],
        description=(
            f"`{schema}.{name}` published for BI tools: replaced atomically in the PostgreSQL schema "
            "`analytics` (when DATATRENDZ_PUBLISH_URL is set) and exported as Parquet under "
            f"`lake/{name}/date=YYYY-MM-DD/`. Personal data never leaves in clear text.{through}"
        ),
        group_name="publishing",
        kinds={"postgres", "parquet"},
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        retry_policy=TRANSIENT_RETRY,
    )
    def publish(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        publish_target: PublishTargetResource,
    ) -> dg.MaterializeResult:
        from datatrendz_pipelines.publishing.parquet import export_parquet

        started = time.perf_counter()
        window = context.partition_time_window
        days = days_in_window(window.start, window.end)
        with warehouse.connect() as conn:
            date_column = PUBLISHED_BY_DAY.get(name)
            table = read_table(conn, schema, name, days if date_column else None, date_column)
        table = _pii_safe(table, publish_target.pii_salt)
        lake = export_parquet(
            table, publish_target.lake_dir, name=name, date_column=date_column_of(table)
        )
        metadata: dict = {
            "dagster/row_count": table.num_rows,
            "lake_files": len(lake.files),
            "lake_bytes": dg.MetadataValue.int(lake.bytes),
            "lake_path": dg.MetadataValue.path(f"{publish_target.lake_dir}/{name}"),
        }
        if publish_target.postgres_url:
            metadata |= _publish_postgres(publish_target, table, name, days, context.run.run_id)
        else:
            context.log.warning(
                f"DATATRENDZ_PUBLISH_URL is not set: {name} was exported to the lake only. Set it "
                "to a PostgreSQL URL (after `python -m datatrendz_pipelines.publishing.setup`) "
                "to publish for BI tools."
            )
            metadata["postgres"] = "skipped: DATATRENDZ_PUBLISH_URL is not set"
        metadata["seconds"] = round(time.perf_counter() - started, 2)
        return dg.MaterializeResult(metadata=metadata)

    return publish


def build_publish_assets(
    table_keys: list[dg.AssetKey],
    partitions_def: dg.PartitionsDefinition,
    read_when_queried: Mapping[dg.AssetKey, Sequence[dg.AssetKey]] | None = None,
) -> list[dg.AssetsDefinition]:
    """One publish asset per table; `read_when_queried`: per view, the tables it reads."""
    reads = read_when_queried or {}
    return [build_publish_asset(key, partitions_def, reads.get(key, ())) for key in table_keys]
