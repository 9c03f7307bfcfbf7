"""raw/<source> assets materialized by Dagster on a real DuckDB file."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from datatrendz_pipelines.definitions import build_definitions

LINES_HEADER = "order_id,line_number,product_id,line_type,quantity,unit_price,discount_amount"
HEADER = "order_id,ordered_at,store_id,channel,customer_id,order_type,status,original_order_id,payment_method,promotion_code"


def land(settings, day: str, name: str, *rows: str) -> None:
    folder = settings.landing_dir / "orders" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(HEADER + "\n" + "\n".join(rows) + "\n")


def materialize_raw(settings, *sources: str, **kwargs):
    """Materialize only `sources` of the raw step (one multi-asset for every source)."""
    defs = build_definitions(settings)
    keys = [dg.AssetKey(["raw", s]) for s in sources]
    step = defs.get_assets_def(keys[0])
    return dg.materialize([step], selection=keys, resources=defs.resources, **kwargs)


def test_a_partition_materializes_with_counts_and_preview(settings):
    land(
        settings,
        "2025-03-01",
        "pos.csv",
        "O1,2025-03-01 09:00:00,S01,store,,sale,completed,,cash,",
        "O2,2025-03-01 09:30:00,S01,store,,sale,completed,,cash,",
        "O3,not-a-date,S01,store,,sale,completed,,cash,",
    )
    result = materialize_raw(settings, "orders", partition_key="2025-03-01", raise_on_error=False)

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert checks["orders_rows_reconcile"].passed
    assert checks["orders_meets_contract"].passed
    # One bad row in three is far past the 5% a usable day may lose: the gate closes.
    share = checks["orders_quarantine_share_below_threshold"]
    assert not share.passed and share.metadata["worst_share"].value == 0.3333
    (materialization,) = result.asset_materializations_for_node("raw_sources")
    assert materialization.asset_key == dg.AssetKey(["raw", "orders"])
    metadata = materialization.metadata
    assert metadata["dagster/row_count"].value == 2
    assert metadata["rows_quarantined"].value == 1
    assert "| O1 |" in metadata["preview"].value
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.orders").fetchone()[0] == 2


def test_a_backfill_past_the_gx_budget_validates_a_sample(settings, monkeypatch):
    for day in ("2025-03-01", "2025-03-02"):
        land(
            settings,
            day,
            "pos.csv",
            *(
                f"O{day[-1]}-{i},{day} 09:00:00,S01,store,,sale,completed,,cash,"
                for i in range(200)
            ),
        )
    monkeypatch.setenv("DATATRENDZ_GX_MAX_ROWS", "100")
    settings = type(settings).from_env()
    result = materialize_raw(
        settings,
        "orders",
        tags={
            "dagster/asset_partition_range_start": "2025-03-01",
            "dagster/asset_partition_range_end": "2025-03-02",
        },
    )

    contract = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "orders_meets_contract"
    ]
    assert contract.passed
    metadata = {k: v.value for k, v in contract.metadata.items()}
    assert metadata["sampled"] and metadata["rows_in_days"] == 400
    assert 50 < metadata["rows_validated"] < 150  # each row kept with p = 1/4
    assert f"sample of {metadata['rows_validated']} of the 400 rows" in metadata["note"]


def test_a_range_of_days_loads_in_one_run(settings):
    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        land(
            settings, day, "pos.csv", f"O{day[-1]},{day} 09:00:00,S01,store,,sale,completed,,cash,"
        )
        lines = settings.landing_dir / "order_lines" / f"date={day}" / "lines.csv"
        lines.parent.mkdir(parents=True)
        lines.write_text(f"{LINES_HEADER}\nO{day[-1]},1,P1,sale,2,9.99,0.00\n")
    defs = build_definitions(settings)
    job = defs.resolve_job_def("daily_pipeline_job")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": "2025-03-01",
            "dagster/asset_partition_range_end": "2025-03-03",
        },
    )

    assert result.success
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        days = conn.execute(
            "SELECT DISTINCT _partition_date::VARCHAR FROM raw.orders ORDER BY 1"
        ).fetchall()
        assert [d[0] for d in days] == ["2025-03-01", "2025-03-02", "2025-03-03"]
        # Sources that never arrived leave empty tables instead of failing the run.
        assert conn.execute("SELECT count(*) FROM raw.web_sessions").fetchone()[0] == 0


def test_a_required_source_missing_for_a_day_blocks_downstream(settings):
    land(
        settings, "2025-03-01", "pos.csv", "O1,2025-03-01 09:00:00,S01,store,,sale,completed,,cash,"
    )
    result = materialize_raw(
        settings, "order_lines", partition_key="2025-03-01", raise_on_error=False
    )

    volume = {e.check_name: e for e in result.get_asset_check_evaluations()}[
        "order_lines_volume_within_band"
    ]
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.ERROR
    assert volume.metadata["empty_days"].value == ["2025-03-01"]


def test_an_unreadable_file_fails_its_partition_and_says_what_to_do(settings):
    land(
        settings,
        "2025-03-01",
        "pos.csv",
        'O1,"2025-03-01 09:00:00,S01,store,,sale,completed,,cash,',
    )
    with pytest.raises(dg.Failure) as excinfo:
        materialize_raw(settings, "orders", partition_key="2025-03-01")

    message = excinfo.value.description
    assert "orders/date=2025-03-01/pos.csv" in message and "Line: 2" in message
    assert "put it back in the landing zone" in message
    assert (settings.rejected_dir / "orders/date=2025-03-01/pos.csv").exists()


def test_a_rejected_source_leaves_the_others_loaded_and_skips_what_references_it(settings):
    land(
        settings,
        "2025-03-01",
        "pos.csv",
        'O1,"2025-03-01 09:00:00,S01,store,,sale,completed,,cash,',
    )
    lines = settings.landing_dir / "order_lines" / "date=2025-03-01" / "lines.csv"
    lines.parent.mkdir(parents=True)
    lines.write_text(f"{LINES_HEADER}\nO1,1,P1,sale,2,9.99,0.00\n")
    spend = settings.landing_dir / "marketing_spend" / "date=2025-03-01" / "spend.csv"
    spend.parent.mkdir(parents=True)
    spend.write_text(
        "spend_date,channel,spend,impressions,clicks,new_customers\n"
        "2025-03-01,paid_search,12.50,1000,40,3\n"
    )
    instance = dg.DagsterInstance.ephemeral()

    with pytest.raises(dg.Failure) as excinfo:
        materialize_raw(
            settings,
            "orders",
            "order_lines",
            "marketing_spend",
            partition_key="2025-03-01",
            instance=instance,
        )

    message = excinfo.value.description
    assert "orders/date=2025-03-01/pos.csv" in message
    assert "reference a source that failed: order_lines" in message
    # The source without a problem is loaded and recorded; the failed one and its reader are not.
    loaded = {
        key.path[-1]
        for key in (dg.AssetKey(["raw", s]) for s in ("orders", "order_lines", "marketing_spend"))
        if instance.get_latest_materialization_event(key) is not None
    }
    assert loaded == {"marketing_spend"}
    assert lines.exists()  # left in the landing zone for the re-run
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM raw.marketing_spend").fetchone()[0] == 1
