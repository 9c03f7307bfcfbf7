"""Contract rules applied in DuckDB: bad rows are quarantined with the rule and reason."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.ingestion.landing import LandingZone
from datatrendz_pipelines.ingestion.load import ingest_source

CONTRACTS = load_contracts()
DAY1, DAY2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
LINES_HEADER = "order_id,line_number,product_id,line_type,quantity,unit_price,discount_amount"
PRODUCTS_HEADER = (
    "product_id,sku,product_name,category,brand,unit_price,unit_cost,launched_date,is_active"
)
CUSTOMERS_HEADER = "customer_id,first_name,last_name,email,phone,street_address,city,region,signup_date,acquisition_channel"


@pytest.fixture
def zone(tmp_path: Path) -> LandingZone:
    return LandingZone(tmp_path / "landing", tmp_path / "archive", tmp_path / "rejected")


@pytest.fixture
def conn(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as connection:
        yield connection


def land(zone: LandingZone, source: str, day: dt.date, header: str, *rows: str) -> None:
    folder = zone.landing_dir / source / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{source}.csv").write_text(header + "\n" + "\n".join(rows) + "\n")


def quarantined(conn, source: str) -> dict[str, tuple[str, str]]:
    rows = conn.execute(f"SELECT _source_row, _rule, _reason FROM quarantine.{source}").fetchall()
    return {row: (rule, reason) for row, rule, reason in rows}


def load_products(zone, conn, day=DAY1):
    land(
        zone,
        "products",
        day,
        PRODUCTS_HEADER,
        "P1,SKU1,Tee,apparel,Acme,19.90,8.00,2024-01-01,true",
        "P2,SKU2,Mug,home,Acme,9.50,3.00,2024-01-01,true",
    )
    return ingest_source(conn, zone, CONTRACTS["products"], [day])


def test_each_broken_rule_is_named_and_explained_and_returns_pass(zone, conn):
    load_products(zone, conn)
    land(
        zone,
        "order_lines",
        DAY1,
        LINES_HEADER,
        "O1,1,P1,sale,2,19.90,0.00",  # 1 good
        "O1,2,,sale,1,9.50,0.00",  # 2 null key
        "O1,3,P2,sale,1,-9.50,0.00",  # 3 negative price
        "O2,1,P1,sale,-1,19.90,0.00",  # 4 negative quantity on a sale
        "O2,2,P404,sale,1,19.90,0.00",  # 5 unknown product
        "O1,1,P1,sale,2,19.90,0.00",  # 6 duplicate of row 1
        "R1,1,P1,return,-1,19.90,0.00",  # 7 a genuine return
        "R1,2,P1,return,3,19.90,0.00",
    )  # 8 a return line that adds stock: wrong
    report = ingest_source(conn, zone, CONTRACTS["order_lines"], [DAY1])

    bad = quarantined(conn, "order_lines")
    assert {row: rule for row, (rule, _) in bad.items()} == {
        2: "product_id_not_null",
        3: "unit_price_min",
        4: "sale_quantity_positive",
        5: "product_id_references_products",
        6: "order_id_line_number_unique",
        8: "return_quantity_negative",
    }
    assert bad[3][1] == "unit_price_min: unit_price = -9.50 is below the minimum 0"
    assert (
        bad[5][1]
        == "product_id_references_products: product_id P404 is not a known products.product_id"
    )
    assert "line_type\" = 'sale'" in bad[4][1]
    assert (report.rows_read, report.rows_loaded, report.rows_quarantined) == (8, 2, 6)
    kept = conn.execute("SELECT _source_row FROM raw.order_lines ORDER BY 1").fetchall()
    assert kept == [(1,), (7,)]


def test_a_row_breaking_two_rules_lists_both(zone, conn):
    load_products(zone, conn)
    land(zone, "order_lines", DAY1, LINES_HEADER, "O1,0,P404,sale,1,-1.00,0.00")
    ingest_source(conn, zone, CONTRACTS["order_lines"], [DAY1])

    rule, reason = quarantined(conn, "order_lines")[1]
    assert rule == "line_number_min,product_id_references_products,unit_price_min"
    assert reason.count(";") == 2


def test_a_reference_must_be_delivered_on_or_before_the_rows_day(zone, conn):
    load_products(zone, conn, day=DAY2)
    land(zone, "order_lines", DAY1, LINES_HEADER, "O1,1,P1,sale,1,19.90,0.00")
    land(zone, "order_lines", DAY2, LINES_HEADER, "O2,1,P1,sale,1,19.90,0.00")
    ingest_source(conn, zone, CONTRACTS["order_lines"], [DAY1, DAY2])

    days = conn.execute("SELECT _partition_date FROM quarantine.order_lines").fetchall()
    assert days == [(DAY1,)]


def test_references_to_a_source_never_delivered_are_not_checked(zone, conn):
    land(zone, "order_lines", DAY1, LINES_HEADER, "O1,1,P1,sale,1,19.90,0.00")
    report = ingest_source(conn, zone, CONTRACTS["order_lines"], [DAY1])

    assert report.rows_loaded == 1
    assert report.unchecked_references == [
        "order_id_references_orders (orders never delivered)",
        "product_id_references_products (products never delivered)",
    ]


def test_a_return_must_name_a_known_sale_from_history_or_the_same_load(zone, conn):
    header = "order_id,ordered_at,store_id,channel,customer_id,order_type,status,original_order_id,payment_method,promotion_code"
    land(zone, "orders", DAY1, header, "O1,2025-03-01 09:00:00,S1,store,,sale,completed,,cash,")
    ingest_source(conn, zone, CONTRACTS["orders"], [DAY1])
    land(
        zone,
        "orders",
        DAY2,
        header,
        "O2,2025-03-02 09:00:00,S1,store,,sale,completed,,cash,",
        "R1,2025-03-02 10:00:00,S1,store,,return,completed,O1,cash,",
        "R2,2025-03-02 11:00:00,S1,store,,return,completed,O2,cash,",
        "R3,2025-03-02 12:00:00,S1,store,,return,completed,O999,cash,",
        "R4,2025-03-02 12:30:00,S1,store,,return,completed,,cash,",
    )
    ingest_source(conn, zone, CONTRACTS["orders"], [DAY2])

    rules = {r: rule for r, (rule, _) in quarantined(conn, "orders").items()}
    assert rules == {4: "original_order_id_references_orders", 5: "return_names_original_order"}


def test_warn_only_rules_keep_the_row(zone, conn):
    land(
        zone,
        "customers",
        DAY1,
        CUSTOMERS_HEADER,
        "C1,Ann,Lee,ann.lee@example.com,+44 20 7946 0000,1 High St,Leeds,North,2024-05-01,organic",
        "C2,Bob,Ray,not-an-email,+44 20 7946 0001,2 High St,Leeds,North,2024-05-01,social",
    )
    report = ingest_source(conn, zone, CONTRACTS["customers"], [DAY1])

    assert report.rows_loaded == 2 and report.rows_quarantined == 0
