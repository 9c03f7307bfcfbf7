"""Loading landing files into raw.<source>: typing, quarantine, idempotence, bad files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.ingestion.landing import LandingZone
from datatrendz_pipelines.ingestion.load import ingest_source
from datatrendz_pipelines.ingestion.read import header_problem

DAY1, DAY2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
ORDERS = load_contracts()["orders"]
HEADER = "order_id,ordered_at,store_id,channel,customer_id,order_type,status,original_order_id,payment_method,promotion_code"


def write(zone: LandingZone, source: str, day: dt.date, name: str, text: str) -> Path:
    path = zone.landing_dir / source / f"date={day.isoformat()}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def orders_csv(*rows: str) -> str:
    return HEADER + "\n" + "\n".join(rows) + "\n"


@pytest.fixture
def zone(tmp_path: Path) -> LandingZone:
    return LandingZone(tmp_path / "landing", tmp_path / "archive", tmp_path / "rejected")


@pytest.fixture
def conn(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        yield connection


def raw_rows(conn, source: str = "orders") -> list[tuple]:
    return conn.execute(
        f"SELECT * EXCLUDE (_loaded_at) FROM raw.{source} ORDER BY _partition_date, _source_file, _source_row"
    ).fetchall()


def test_rows_are_typed_by_the_contract_and_lineage_is_kept(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv(
            "O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,",
            "O2,2025-03-01 10:00:00,WEB,online,C7,sale,cancelled,,paypal,SPRING",
            "R1,2025-03-01 11:00:00,S01,store,C7,return,completed,O1,card,",
        ),
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1], run_id="r1")

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 3, 0)
    types = dict(
        conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema='raw' AND table_name='orders'"
        ).fetchall()
    )
    assert types["ordered_at"] == "TIMESTAMP" and types["_partition_date"] == "DATE"
    first = raw_rows(conn)[0]
    assert first[1] == dt.datetime(2025, 3, 1, 9, 15)
    assert first[4] is None  # empty customer_id is NULL, not ''
    assert first[-3:] == (DAY1, "orders/date=2025-03-01/pos.csv", 1)
    assert not (zone.landing_dir / "orders/date=2025-03-01/pos.csv").exists()
    assert (zone.archive_dir / "orders/date=2025-03-01/pos.csv").exists()


def test_uncastable_rows_go_to_quarantine_with_file_row_and_reason(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv(
            "O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,",
            "O2,31/12/2024,S01,store,,sale,completed,,cash,",
            "O3,2025-02-30 10:00:00,S01,store,,sale,completed,,cash,",
        ),
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1], run_id="r1")

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (3, 1, 2)
    quarantined = conn.execute(
        "SELECT order_id, ordered_at, _source_file, _source_row, _rule, _reason, _run_id "
        "FROM quarantine.orders ORDER BY _source_row"
    ).fetchall()
    assert quarantined[0][:5] == (
        "O2",
        "31/12/2024",
        "orders/date=2025-03-01/pos.csv",
        2,
        "type_cast",
    )
    assert "ordered_at: 31/12/2024 is not a valid TIMESTAMP" in quarantined[0][5]
    assert quarantined[1][0] == "O3" and quarantined[1][3] == 3 and quarantined[1][6] == "r1"
    logged = conn.execute(
        "SELECT rows_read, rows_loaded, rows_quarantined FROM meta.raw_loads"
    ).fetchall()
    assert logged == [(3, 1, 2)]


def test_each_file_is_logged_with_its_own_counts_when_another_has_bad_rows(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    write(
        zone,
        "orders",
        DAY1,
        "web.csv",
        orders_csv(
            "O2,2025-03-01 10:00:00,WEB,online,,sale,completed,,card,",
            "O3,not a time,WEB,online,,sale,completed,,card,",
        ),
    )
    write(
        zone,
        "orders",
        DAY2,
        "pos.csv",
        orders_csv("O4,2025-03-02 09:00:00,S01,store,,sale,completed,,cash,"),
    )

    report = ingest_source(conn, zone, ORDERS, [DAY1, DAY2], run_id="r1")

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 3, 1)
    logged = conn.execute(
        "SELECT source_file, rows_read, rows_loaded, rows_quarantined FROM meta.raw_loads "
        "ORDER BY source_file"
    ).fetchall()
    assert logged == [
        ("orders/date=2025-03-01/pos.csv", 1, 1, 0),
        ("orders/date=2025-03-01/web.csv", 2, 1, 1),
        ("orders/date=2025-03-02/pos.csv", 1, 1, 0),
    ]
    assert [r[0] for r in raw_rows(conn)] == ["O1", "O2", "O4"]
    assert conn.execute("SELECT order_id, _source_row FROM quarantine.orders").fetchall() == [
        ("O3", 2)
    ]


def test_reloading_a_day_gives_the_same_rows_from_the_archive(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    write(
        zone,
        "orders",
        DAY1,
        "web.csv",
        orders_csv("O2,2025-03-01 09:20:00,WEB,online,C1,sale,completed,,card,"),
    )
    ingest_source(conn, zone, ORDERS, [DAY1])
    before = raw_rows(conn)
    again = ingest_source(conn, zone, ORDERS, [DAY1])

    assert again.rows_loaded == 2
    assert raw_rows(conn) == before
    assert conn.execute("SELECT count(*) FROM meta.raw_loads").fetchone()[0] == 2


def test_a_late_file_for_an_archived_day_is_added_on_rerun(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    ingest_source(conn, zone, ORDERS, [DAY1])
    write(
        zone,
        "orders",
        DAY1,
        "pos_late.csv",
        orders_csv("O9,2025-03-01 18:00:00,S01,store,,sale,completed,,cash,"),
    )
    ingest_source(conn, zone, ORDERS, [DAY1])

    assert [r[0] for r in raw_rows(conn)] == ["O1", "O9"]


def test_a_backfill_loads_in_chunks_of_days_with_the_same_rows(zone, tmp_path):
    days = [DAY1 + dt.timedelta(days=i) for i in range(5)]
    for i, day in enumerate(days):
        rows = [f"O{i}{n},{day} 09:{n:02d}:00,S01,store,,sale,completed,,cash," for n in range(3)]
        rows.append(f"O{i}0,{day} 10:00:00,S01,store,,sale,completed,,cash,")  # a repeated key
        rows.append(f"X{i},{day}T99,S01,store,,sale,completed,,cash,")  # cannot be cast
        write(zone, "orders", day, "pos.csv", orders_csv(*rows))
    results = {}
    for name, chunk_bytes in (("one", 10**9), ("chunked", 1)):
        with duckdb.connect(str(tmp_path / f"{name}.duckdb")) as conn:
            messages: list[str] = []
            report = ingest_source(
                conn, zone, ORDERS, days, log=messages.append, chunk_bytes=chunk_bytes
            )
            quarantine = conn.execute(
                "SELECT order_id, _source_row, _rule FROM quarantine.orders ORDER BY ALL"
            ).fetchall()
            loads = conn.execute("SELECT count(*) FROM meta.raw_loads").fetchone()[0]
            results[name] = (raw_rows(conn), quarantine, report.rows_loaded, loads)
            if name == "chunked":
                assert "in 5 chunk(s)" in messages[0]
                assert any("chunk 5/5 (2025-03-05..2025-03-05)" in m for m in messages)
    assert results["one"] == results["chunked"]
    raw, quarantine, loaded, loads = results["chunked"]
    assert loaded == len(raw) == 15 and loads == 5
    assert {rule for _, _, rule in quarantine} == {"order_id_unique", "type_cast"}
    assert ("O00", 4, "order_id_unique") in quarantine  # the later row of the key goes


def test_a_day_without_files_is_emptied(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    ingest_source(conn, zone, ORDERS, [DAY1])
    (zone.archive_dir / "orders/date=2025-03-01/pos.csv").unlink()
    report = ingest_source(conn, zone, ORDERS, [DAY1])

    assert report.rows_loaded == 0 and raw_rows(conn) == []


def test_an_unreadable_file_is_kept_with_its_reason_and_its_day_is_untouched(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    ingest_source(conn, zone, ORDERS, [DAY1])
    good2 = write(
        zone,
        "orders",
        DAY2,
        "a.csv",
        orders_csv("O2,2025-03-02 09:00:00,S01,store,,sale,completed,,cash,"),
    )
    write(
        zone,
        "orders",
        DAY2,
        "b.csv",
        orders_csv(
            "O3,2025-03-02 09:00:00,S01,store,,sale,completed,,cash,",
            'O4,"2025-03-02 10:00:00,S01,store,,sale,completed,,cash,',
        ),
    )
    write(
        zone,
        "orders",
        DAY1,
        "late.csv",
        orders_csv("O5,2025-03-01 12:00:00,S01,store,,sale,completed,,cash,"),
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1, DAY2])

    assert [r.file.name for r in report.rejected] == ["b.csv"]
    reason = report.rejected[0].reason
    assert "b.csv" in reason and "Line: 3" in reason
    kept = zone.rejected_dir / "orders/date=2025-03-02/b.csv"
    assert kept.exists() and "Line: 3" in kept.with_name("b.csv.reason.txt").read_text()
    # Day 2 is left as it was (empty) and its good file waits in the landing zone for the fix.
    assert sorted(r[0] for r in raw_rows(conn)) == ["O1", "O5"]
    assert good2.exists()
    assert report.days_loaded == [DAY1]

    write(
        zone,
        "orders",
        DAY2,
        "b.csv",
        orders_csv("O3,2025-03-02 09:00:00,S01,store,,sale,completed,,cash,"),
    )
    fixed = ingest_source(conn, zone, ORDERS, [DAY2])
    assert not fixed.rejected
    assert sorted(r[0] for r in raw_rows(conn)) == ["O1", "O2", "O3", "O5"]


def test_a_file_whose_columns_break_the_contract_is_rejected(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        "order_id,ordered_at,till_number\nO1,2025-03-01 09:00:00,4\n",
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1])

    assert len(report.rejected) == 1
    assert (
        "missing required columns ['store_id', 'channel', 'order_type', 'status']"
        in report.rejected[0].reason
    )
    assert "unknown columns ['till_number']" in report.rejected[0].reason
    assert raw_rows(conn) == []


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (list(ORDERS.column_names), None),
        (
            [c for c in ORDERS.column_names if c != "promotion_code"],
            None,
        ),  # nullable: may be absent
        ([], "the file is empty"),
        (["order_id", "order_id"], "columns appear twice"),
        (
            [c for c in ORDERS.column_names if c != "order_id"],
            "missing required columns ['order_id']",
        ),
    ],
)
def test_header_problem(header, problem):
    found = header_problem(ORDERS, header)
    assert (found is None) if problem is None else (problem in found)


def test_parquet_and_json_lines_load_like_csv(zone, conn):
    table = pa.table(
        {
            "order_id": ["P1", "P2"],
            "ordered_at": pa.array([dt.datetime(2025, 3, 1, 8), dt.datetime(2025, 3, 1, 9)]),
            "store_id": ["S01", "S01"],
            "channel": ["store", "store"],
            "customer_id": [None, "C1"],
            "order_type": ["sale", "sale"],
            "status": ["completed", "completed"],
            "payment_method": ["card", "cash"],
        }
    )
    path = zone.landing_dir / "orders/date=2025-03-01/pos.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(table, path)
    records = [
        {
            "order_id": "J1",
            "ordered_at": "2025-03-01 12:00:00",
            "store_id": "WEB",
            "channel": "online",
            "customer_id": "C2",
            "order_type": "sale",
            "status": "completed",
            "payment_method": "paypal",
        },
        {
            "order_id": "J2",
            "ordered_at": "not a time",
            "store_id": "WEB",
            "channel": "online",
            "customer_id": "C2",
            "order_type": "sale",
            "status": "completed",
            "payment_method": "paypal",
        },
    ]
    write(zone, "orders", DAY1, "web.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    report = ingest_source(conn, zone, ORDERS, [DAY1])

    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (4, 3, 1)
    rows = {r[0]: r for r in raw_rows(conn)}
    assert rows["P1"][1] == dt.datetime(2025, 3, 1, 8) and rows["P1"][-1] == 1
    assert rows["J1"][1] == dt.datetime(2025, 3, 1, 12)
    assert conn.execute("SELECT order_id, _source_row FROM quarantine.orders").fetchall() == [
        ("J2", 2)
    ]


def test_files_still_being_written_are_left_for_later(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv.tmp",
        orders_csv("O1,2025-03-01 09:15:00,S01,store,,sale,completed,,cash,"),
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1])

    assert report.files == [] and (zone.landing_dir / "orders/date=2025-03-01/pos.csv.tmp").exists()


def test_typed_values_are_trimmed_and_a_bad_one_is_quarantined_as_read(zone, conn):
    write(
        zone,
        "orders",
        DAY1,
        "pos.csv",
        orders_csv(
            'O1,"  2025-03-01 09:15:00 ",S01,store,,sale,completed,,cash,',
            'O2," noon ",S01,store,,sale,completed,,cash,',
        ),
    )
    report = ingest_source(conn, zone, ORDERS, [DAY1], run_id="r1")

    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert raw_rows(conn)[0][:2] == ("O1", dt.datetime(2025, 3, 1, 9, 15))
    [(as_read, rule, reason)] = conn.execute(
        "SELECT ordered_at, _rule, _reason FROM quarantine.orders"
    ).fetchall()
    assert (as_read, rule) == (" noon ", "type_cast")
    assert reason == "ordered_at: noon is not a valid TIMESTAMP"
