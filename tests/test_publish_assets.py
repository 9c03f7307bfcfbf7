"""analytics/<table> assets: KPI tables published to a real PostgreSQL database and the lake."""

from __future__ import annotations

import dagster as dg
import duckdb
import psycopg
import pytest

from datatrendz_pipelines.definitions import build_definitions
from datatrendz_pipelines.publishing.access import setup_access
from datatrendz_pipelines.publishing.assets import date_column_of, personal_columns

DAY = "2025-03-02"


def make_kpi_tables(settings) -> None:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as conn:
        conn.execute("CREATE SCHEMA kpi")
        conn.execute("""CREATE TABLE kpi.kpi_cohort_retention AS SELECT * FROM (VALUES
            (DATE '2025-03-01', 'S01', 'store', 'apparel', 120.50::DECIMAL(14,2)),
            (DATE '2025-03-02', 'S01', 'store', 'apparel', 99.90::DECIMAL(14,2)),
            (DATE '2025-03-02', 'WEB', 'online', 'home', 40.00::DECIMAL(14,2))
        ) t(cohort_month, store_id, channel, category, net_revenue)""")
        conn.execute("""CREATE TABLE kpi.kpi_inventory_health AS SELECT * FROM (VALUES
            (DATE '2025-03-01', 'S01', 'P1', 5), (DATE '2025-03-02', 'S01', 'P1', 3)
        ) t(snapshot_date, store_id, product_id, quantity_on_hand)""")


def materialize(settings, names: list[str]):
    defs = build_definitions(settings)
    assets = [defs.get_assets_def(dg.AssetKey(["analytics", n])) for n in names]
    return dg.materialize(assets, resources=defs.resources, partition_key=DAY)


def test_without_a_database_the_tables_go_to_the_lake_only(settings, monkeypatch):
    monkeypatch.delenv("DATATRENDZ_PUBLISH_URL", raising=False)
    make_kpi_tables(settings)
    result = materialize(settings, ["kpi_cohort_retention"])

    metadata = result.asset_materializations_for_node("analytics__kpi_cohort_retention")[0].metadata
    assert metadata["postgres"].value == "skipped: DATATRENDZ_PUBLISH_URL is not set"
    days = sorted(p.name for p in (settings.lake_dir / "kpi_cohort_retention").iterdir())
    assert days == ["date=2025-03-01", "date=2025-03-02"]
    (lake,) = duckdb.sql(
        f"SELECT sum(net_revenue) FROM read_parquet('{settings.lake_dir}/kpi_cohort_retention/*/*.parquet', hive_partitioning=true)"
    ).fetchall()[0]
    assert float(lake) == pytest.approx(260.40)


def test_published_rows_equal_the_warehouse_and_bi_can_read_them(
    settings, monkeypatch, postgres_database
):
    database = postgres_database.rsplit("/", 1)[1]
    setup_access(postgres_database, database=database, reader_password="bi-secret")
    monkeypatch.setenv("DATATRENDZ_PUBLISH_URL", postgres_database)
    make_kpi_tables(settings)
    result = materialize(settings, ["kpi_cohort_retention", "kpi_inventory_health"])

    assert result.success
    with psycopg.connect(postgres_database) as pg:
        rows = pg.execute(
            "SELECT cohort_month, store_id, net_revenue FROM analytics.kpi_cohort_retention ORDER BY 1, 2"
        ).fetchall()
        assert [(str(d), s, float(v)) for d, s, v in rows] == [
            ("2025-03-01", "S01", 120.5),
            ("2025-03-02", "S01", 99.9),
            ("2025-03-02", "WEB", 40.0),
        ]
        # A table keyed by day publishes only the run's day; the cohort table is replaced whole.
        assert pg.execute("SELECT count(*) FROM analytics.kpi_inventory_health").fetchone()[0] == 1
        status = dict(
            pg.execute("SELECT table_name, rows FROM analytics.publish_status").fetchall()
        )
        assert status == {"kpi_cohort_retention": 3, "kpi_inventory_health": 1}
    reader_url = postgres_database.replace("postgres@", "datatrendz_bi:bi-secret@")
    with psycopg.connect(reader_url) as bi:
        assert bi.execute("SELECT count(*) FROM analytics.kpi_cohort_retention").fetchone()[0] == 3
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("DELETE FROM analytics.kpi_cohort_retention")


def test_no_personal_column_reaches_a_published_table(settings):
    defs = build_definitions(settings)
    published = [
        k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "analytics"
    ]
    assert published
    assert {"email", "phone", "first_name", "last_name", "street_address"} <= personal_columns()
    with duckdb.connect() as conn:
        conn.execute(
            "CREATE TABLE t AS SELECT DATE '2025-03-01' AS d, 'x@example.com' AS email, 1 AS n"
        )
        from datatrendz_pipelines.publishing.assets import _pii_safe

        table = conn.sql("SELECT * FROM t").to_arrow_table()
    dropped = _pii_safe(table, None)
    hashed = _pii_safe(table, "salt")
    assert "email" not in dropped.column_names
    assert hashed.column("email")[0].as_py() != "x@example.com"
    assert date_column_of(table) == "d"
