"""End to end on a small generated business: files -> raw -> quality gate -> dbt marts and KPIs.

One pipeline run over every day, as `make demo` does it; then the faults the generator injected
are looked up by name and count, and the held-back late file is delivered and loaded.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from datatrendz_pipelines.demo import GeneratorConfig, deliver_held_back, generate
from datatrendz_pipelines.demo_run import reforecast, run_pipeline
from datatrendz_pipelines.forecasting.assets import TASKS, reforecast_keys
from datatrendz_pipelines.instance import ensure_local_instance

pytestmark = pytest.mark.slow

START, DAYS = dt.date(2025, 5, 1), 45
LAST = START + dt.timedelta(days=DAYS - 1)
# Which quarantine rule catches each row-level fault the generator injects.
RULE_OF_FAULT = {
    "null_key": "product_id_not_null",
    "negative_price": "unit_price_min",
    "negative_quantity_not_return": "sale_quantity_positive",
    "unknown_product": "product_id_references_products",
    "duplicated_line": "order_id_line_number_unique",
    "malformed_date": "type_cast",
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """Generate 45 tiny days, run the daily job over all of them as one run."""
    monkeypatch = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("e2e")
    monkeypatch.setenv("DATATRENDZ_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("DATATRENDZ_PARTITIONS_START", "2025-01-01")
    from datatrendz_pipelines.settings import Settings

    settings = Settings.from_env()
    ensure_local_instance(settings)
    manifest = generate(
        GeneratorConfig(start=START, days=DAYS, scale="tiny", seed=11, fault_rate=0.002),
        settings.landing_dir,
        settings.demo_dir,
    )
    result = run_pipeline(settings, START, LAST)
    yield settings, manifest, result
    monkeypatch.undo()


def query(settings, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_the_run_succeeds_with_every_blocking_check_green(pipeline):
    _, _, result = pipeline
    assert result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    blocking_failures = [e for e in failed if e.severity.value == "ERROR"]
    assert blocking_failures == []


def test_every_file_row_is_in_raw_or_quarantine(pipeline):
    settings, manifest, _ = pipeline
    for source in manifest.files:
        written = sum(f.rows for f in manifest.files[source] if not f.held_back)
        (raw,), (quarantined,) = (
            query(settings, f"SELECT count(*) FROM raw.{source}")[0],
            query(settings, f"SELECT count(*) FROM quarantine.{source}")[0],
        )
        assert raw + quarantined == written, source


def test_each_injected_row_fault_is_quarantined_by_its_rule(pipeline):
    settings, manifest, _ = pipeline
    row_faults = [f for f in manifest.injected if f.kind in RULE_OF_FAULT]
    assert {f.kind for f in row_faults} == set(RULE_OF_FAULT)
    for fault in row_faults:
        # Quarantine keeps values as text, as they were read.
        key_columns = (
            ["order_id", "TRY_CAST(line_number AS INTEGER)"]
            if fault.source == "order_lines"
            else ["order_id"]
        )
        rows = query(
            settings,
            f"SELECT {', '.join(key_columns)} FROM quarantine.{fault.source} "
            "WHERE _partition_date = ? AND list_contains(string_split(_rule, ','), ?)",
            [dt.date.fromisoformat(fault.date), RULE_OF_FAULT[fault.kind]],
        )
        caught = [list(r) if len(r) > 1 else r[0] for r in rows]
        expected = [[k[0], int(k[1])] if isinstance(k, list) else k for k in fault.keys]
        for key in expected:
            assert key in caught, (fault.kind, key)
        assert len([k for k in caught if k in expected]) >= fault.count, fault.kind


def test_genuine_returns_are_loaded_not_quarantined(pipeline):
    settings, _, _ = pipeline
    (returns,) = query(settings, "SELECT count(*) FROM raw.order_lines WHERE line_type = 'return'")[
        0:1
    ][0]
    (bad,) = query(
        settings, "SELECT count(*) FROM quarantine.order_lines WHERE line_type = 'return'"
    )[0]
    assert returns > 0 and bad == 0


def test_the_volume_drop_warns_without_blocking(pipeline):
    _, manifest, result = pipeline
    (drop,) = [f for f in manifest.injected if f.kind == "volume_drop" and f.source == "orders"]
    (check,) = [
        e
        for e in result.get_asset_check_evaluations()
        if e.check_name == "orders_volume_within_band"
    ]
    assert not check.passed and check.severity.value == "WARN"
    assert drop.date in [d["day"] for d in check.metadata["days_outside_band"].value]


def test_kpis_are_built_and_match_the_loaded_lines(pipeline):
    settings, _, _ = pipeline
    (kpi_days,) = query(settings, "SELECT count(DISTINCT sales_date) FROM kpi.kpi_daily_sales")[0]
    assert kpi_days == DAYS
    (gap,) = query(
        settings,
        """
        SELECT abs((SELECT sum(net_revenue) FROM kpi.kpi_daily_sales)
                   - (SELECT sum(net_amount) FROM core.fct_order_lines WHERE NOT is_cancelled_order))
    """,
    )[0]
    assert gap < 0.01


def test_a_late_file_reloads_its_day(pipeline):
    settings, manifest, _ = pipeline
    (late,) = [f for f in manifest.injected if f.kind == "late_file"]
    day = dt.date.fromisoformat(late.date)
    (before,) = query(
        settings, "SELECT count(*) FROM raw.order_lines WHERE _partition_date = ?", [day]
    )[0]
    delivered = deliver_held_back(settings.demo_dir, settings.landing_dir)
    assert delivered
    result = run_pipeline(settings, day, day)

    assert result.success
    (after,) = query(
        settings, "SELECT count(*) FROM raw.order_lines WHERE _partition_date = ?", [day]
    )[0]
    assert after == before + late.count


def test_the_injected_kpi_anomalies_are_recorded_as_alerts(pipeline):
    settings, manifest, _ = pipeline
    alerts = {
        (rule, entity, str(day))
        for rule, entity, day in query(settings, "SELECT rule, entity, day FROM meta.alerts")
    }
    (spike,) = manifest.faults("traffic_spike")
    (drop,) = manifest.faults("revenue_drop")
    assert ("traffic_anomaly", "total", spike.date) in alerts
    assert ("revenue_anomaly", f"{drop.detail['store_id']}|store", drop.date) in alerts
    (volume,) = [f for f in manifest.faults("volume_drop") if f.source == "orders"]
    assert ("data_volume_drop", "orders", volume.date) in alerts


def test_reforecasting_a_day_runs_only_the_forecasts_and_what_reads_them(pipeline):
    settings, _, _ = pipeline
    result = reforecast(settings, LAST)

    assert result.success
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == {key for task in TASKS for key in reforecast_keys(task)}
    assert {key.path[0] for key in materialized} == {"ml", "analytics"}  # no raw, no dbt


def test_dbt_steps_reuse_the_parse_of_their_home(pipeline):
    settings, _, _ = pipeline
    state = settings.home / "dbt" / "duckdb"
    assert (state / "manifest.json").exists() and (state / "partial_parse.msgpack").exists()
    step_logs = sorted(state.glob("*/dbt.log"))
    assert 1 <= len(step_logs) <= 10  # one dbt step per run
    full_parses = [
        p.parent.name for p in step_logs if "Unable to do partial parsing" in p.read_text()
    ]
    assert full_parses == []
