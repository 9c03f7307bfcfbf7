"""The batched SQLite event log records a range run exactly as Dagster's own SQLite storage does."""

from pathlib import Path
from unittest import mock

import dagster as dg
import pytest
from dagster._core.storage.event_log import EventLogStorage, SqliteEventLogStorage
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from dagster._serdes import deserialize_value, serialize_value
from sqlalchemy import select

from datatrendz_pipelines import event_log
from datatrendz_pipelines.event_log import ENGINES_KEPT, BatchedSqliteEventLogStorage
from datatrendz_pipelines.instance import (
    LOCAL_INSTANCE_YAML,
    RANGE_RUN_ENVIRONMENT,
    ensure_local_instance,
)

DAYS = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-02-10")
PARTITION_KEYS = DAYS.get_partition_keys()


@dg.asset(
    partitions_def=DAYS,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=[dg.AssetCheckSpec("rows_add_up", asset="daily_rows", blocking=True)],
)
def daily_rows(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    window = context.partition_time_window
    return dg.MaterializeResult(
        metadata={"days": (window.end - window.start).days},
        data_version=dg.DataVersion(window.start.date().isoformat()),
        check_results=[dg.AssetCheckResult(check_name="rows_add_up", passed=True)],
    )


def _run_range(home: Path, first: str, last: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Run daily_rows over first..last on the instance at `home`; what the instance knows."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in RANGE_RUN_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    job = dg.Definitions(
        assets=[daily_rows],
        jobs=[dg.define_asset_job("range_job")],
        executor=dg.in_process_executor,
    ).resolve_job_def("range_job")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        )
        assert result.success
        key = daily_rows.key
        latest = instance.get_latest_materialization_event(key)
        records = instance.fetch_materializations(key, limit=1000).records
        # The asset row caches the latest materialization (reads fall back to the events table).
        row = instance.event_log_storage._fetch_asset_rows(asset_keys=[key])[0]
        cached = (
            deserialize_value(row["last_materialization"]) if row["last_materialization"] else None
        )
        with instance.event_log_storage.index_connection() as conn:
            check_rows = conn.execute(
                select(
                    AssetCheckExecutionsTable.c.check_name,
                    AssetCheckExecutionsTable.c.partition,
                    AssetCheckExecutionsTable.c.execution_status,
                    AssetCheckExecutionsTable.c.evaluation_event,
                ).where(AssetCheckExecutionsTable.c.run_id == result.run_id)
            ).fetchall()
        return {
            "check_rows": sorted(
                (name, partition or "", status, deserialize_value(event).dagster_event_type.value)
                for name, partition, status, event in check_rows
            ),
            "asset_row": (
                cached.partition_key if cached else None,
                row["last_run_id"] == result.run_id,
            ),
            "storage": type(instance.event_log_storage).__name__,
            "partitions": sorted(instance.get_materialized_partitions(key)),
            "materializations": len(records),
            "latest_partition": latest.dagster_event.partition if latest else None,
            "run_events": sorted(
                {e.dagster_event.event_type_value for e in instance.all_logs(result.run_id)}
            ),
            "indexed_versions": instance.event_log_storage.get_latest_tags_by_partition(
                key, dg.DagsterEventType.ASSET_MATERIALIZATION, ["dagster/data_version"]
            ),
            "data_versions": {
                r.partition_key: r.asset_materialization.tags.get("dagster/data_version")
                for r in records
            },
        }


def test_a_range_run_is_recorded_as_by_the_default_storage(tmp_path, monkeypatch):
    default_home = tmp_path / "default"
    default_home.mkdir()
    (default_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    batched_home = tmp_path / "batched"
    batched_home.mkdir()
    (batched_home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)

    expected = _run_range(default_home, "2024-01-01", "2024-01-31", monkeypatch)
    batched = _run_range(batched_home, "2024-01-01", "2024-01-31", monkeypatch)

    assert expected.pop("storage") == "SqliteEventLogStorage"
    assert batched.pop("storage") == BatchedSqliteEventLogStorage.__name__
    assert batched == expected
    assert batched["materializations"] == 31
    assert batched["latest_partition"] == "2024-01-31"
    assert batched["asset_row"] == ("2024-01-31", True)
    assert batched["data_versions"]["2024-01-05"] == "2024-01-01"
    assert len(batched["indexed_versions"]) == 31
    planned = [r for r in batched["check_rows"] if r[2] == "PLANNED"]
    assert len(planned) == 31 and planned[0][1:] == (
        "2024-01-01",
        "PLANNED",
        "ASSET_CHECK_EVALUATION_PLANNED",
    )


def test_a_range_s_materializations_are_serialised_once_into_the_rows_dagster_writes(
    tmp_path, monkeypatch
):
    home = tmp_path / "batched"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    _run_range(home, "2024-01-01", "2024-01-31", monkeypatch)
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        storage = instance.event_log_storage
        events = [
            e
            for e in instance.all_logs(run.run_id)
            if e.dagster_event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
        ]
        assert len(events) == 31
        dagster_rows = [SqliteEventLogStorage._event_to_row(storage, e) for e in events]
        with mock.patch.object(event_log, "serialize_value", wraps=serialize_value) as serialise:
            assert event_log._materialization_rows(events) == dagster_rows
        assert serialise.call_count == 2  # the template, and the first event to check it by

        # Days whose metadata differ are serialised one by one, as Dagster does.
        other = events[1]._replace(
            dagster_event=events[1].dagster_event._replace(
                event_specific_data=events[1].dagster_event.event_specific_data._replace(
                    materialization=events[1].asset_materialization._replace(
                        metadata={"days": dg.IntMetadataValue(30)}
                    )
                )
            )
        )
        assert event_log._materialization_rows([events[0], other]) is None
        assert event_log._materialization_rows([events[0]]) is not None


def test_a_second_range_adds_its_days_and_a_single_day_run_still_works(tmp_path, monkeypatch):
    home = tmp_path / "batched"
    home.mkdir()
    (home / "dagster.yaml").write_text(LOCAL_INSTANCE_YAML)
    _run_range(home, "2024-01-01", "2024-01-20", monkeypatch)
    _run_range(home, "2024-01-15", "2024-02-05", monkeypatch)
    after = _run_range(home, "2024-02-07", "2024-02-07", monkeypatch)
    assert after["partitions"] == [*PARTITION_KEYS[:36], "2024-02-07"]
    assert after["materializations"] == 20 + 22 + 1
    assert after["latest_partition"] == "2024-02-07"


def test_the_local_instance_file_is_written_and_upgraded_but_hand_edits_are_kept(
    settings, monkeypatch
):
    home = ensure_local_instance(settings)
    config = home / "dagster.yaml"
    assert config.read_text() == LOCAL_INSTANCE_YAML
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, BatchedSqliteEventLogStorage)

    config.write_text(
        "# Local Dagster instance for the demo and `make dev` (SQLite storage under DAGSTER_HOME).\n"
        "telemetry:\n  enabled: false\n"
    )
    ensure_local_instance(settings)
    assert config.read_text() == LOCAL_INSTANCE_YAML

    config.write_text("telemetry:\n  enabled: false\n")
    ensure_local_instance(settings)
    assert config.read_text() == "telemetry:\n  enabled: false\n"


def test_engines_are_kept_per_file_and_bounded(tmp_path):
    storage = BatchedSqliteEventLogStorage(str(tmp_path))
    for i in range(ENGINES_KEPT + 5):
        with storage.run_connection(f"run-{i}") as conn:
            conn.exec_driver_sql("select 1")
    with storage.run_connection(f"run-{ENGINES_KEPT + 4}"):
        pass
    assert len(storage._engines) == ENGINES_KEPT
    assert next(reversed(storage._engines)) == f"run-{ENGINES_KEPT + 4}"
    assert "run-0" not in storage._engines  # the least recently used went first
    assert (tmp_path / "history" / "runs" / "run-0.db").exists()
    storage.dispose()
    assert not storage._engines


def test_a_file_keeps_one_connection_that_commits_without_flushing_each_write(tmp_path):
    storage = BatchedSqliteEventLogStorage(str(tmp_path))
    seen = []
    for _ in range(3):
        with storage.run_connection("run-a") as conn:
            seen.append(id(conn.connection.dbapi_connection))
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            synchronous = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert len(set(seen)) == 1
    assert (journal, synchronous) == ("wal", 1)  # 1: NORMAL
    assert storage.has_table("event_logs") and "event_logs" in storage._tables_present
    assert not storage.has_table("no_such_table")
    assert "no_such_table" not in storage._tables_present
    storage.dispose()


def test_the_overrides_replace_methods_dagster_still_has():
    # A rename in Dagster would leave an override unused, and its cost back.
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    assert "_store_asset_check_evaluation_planned" in vars(SqlEventLogStorage)
    assert {"_connect", "store_event_batch"} & set(vars(SqliteEventLogStorage)) == {"_connect"}
    assert "store_event_batch" in vars(EventLogStorage)
