"""The dbt warehouse on a small hand-made dataset, on DuckDB and on PostgreSQL.

The test writes `raw.*` tables (typed from the contracts, plus the four load columns) into a
tmp DuckDB file and into a fresh PostgreSQL database, runs `dbt build` on each target and checks
the KPI tables against numbers worked out by hand in the comments below, then checks that both
targets give identical KPI tables, that a one-day incremental run changes nothing, and that a
missing optional source builds with empty outputs.

The dataset (D0 = 2024-08-01, D1 = 2024-11-29 Black Friday, D2 = 2024-11-30, D3 = 2024-12-01):
  stores    S1, S2 (shops), W1 (web shop); delivered D1
  products  P1 apparel 20.00 (cost 8.00; from D2 22.00, cost 9.00), P2 home 10.00 (cost 4.00,
            redelivered unchanged D2), P3 home 50.00 (cost 30.00)
  customers C1 paid_search (city changes D3), C2 social (redelivered unchanged D2), C4 email
            (all delivered D1), C3 paid_search (delivered D2)
  orders (net = quantity * price - sign(quantity) * discount):
    D0  O0 S2 C4   P2 1 x 10.00                     net 10.00  cost 4.00 (first product version)
    D1  O1 S1 C1   P1 2 x 20.00 - 4.00 = 36.00      cost 16.00
                   P2 1 x 10.00        = 10.00      cost  4.00   order net 46.00
                   (O1 and its line 1 delivered twice; the later file says payment card)
        O2 W1 C2   P3 1 x 50.00 - 5.00 = 45.00      cost 30.00
        O3 S2 anon P2 3 x 10.00        = 30.00      cost 12.00
        O4 W1 C1   P1 1 x 20.00, cancelled -> no revenue
    D2  O5 S1 C1   P1 1 x 22.00 - 2.00 = 20.00      cost  9.00
                   P3 1 x 50.00        = 50.00      cost 30.00   order net 70.00
        O6 W1 C3   P2 2 x 10.00 - 1.00 = 19.00      cost  8.00
        O7 S1 C1   return of O1: P1 -1 x 20.00 + 2.00 = -18.00, cost -9.00
    D3  O8 S2 C2   P3 1 x 50.00 = 50.00 (cost 30.00), P2 1 x 10.00 = 10.00 (cost 4.00)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.warehouse.assets import environment

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
POSTGRES_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
LOAD_COLUMNS = (
    ("_partition_date", "DATE"),
    ("_source_file", "VARCHAR"),
    ("_source_row", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
)
KPI_MODELS = (
    "kpi_daily_sales",
    "kpi_top_products_daily",
    "kpi_top_products_weekly",
    "kpi_customers_daily",
    "kpi_cohort_retention",
    "kpi_web_funnel_daily",
    "kpi_marketing_daily",
    "kpi_inventory_health",
    "kpi_executive_summary",
)
CORE_MODELS = (
    "fct_orders",
    "fct_order_lines",
    "fct_inventory_daily",
    "fct_web_sessions",
    "fct_marketing_spend",
    "dim_customers",
    "dim_products",
    "dim_stores",
)

INCREMENTAL_DATE_COLUMNS = {
    "core.fct_orders": "order_date",
    "core.fct_order_lines": "order_date",
    "core.fct_inventory_daily": "snapshot_date",
    "core.fct_web_sessions": "session_date",
    "core.fct_marketing_spend": "spend_date",
    "intermediate.int_customer_revenue_daily": "order_date",
    "kpi.kpi_daily_sales": "sales_date",
    "kpi.kpi_top_products_daily": "sales_date",
    "kpi.kpi_top_products_weekly": "week_start_date",
    "kpi.kpi_customers_daily": "customer_date",
    "kpi.kpi_web_funnel_daily": "session_date",
    "kpi.kpi_marketing_daily": "marketing_date",
    "kpi.kpi_inventory_health": "snapshot_date",
    "kpi.kpi_executive_summary": "summary_date",
}
# Incremental models keyed by entity or month, and what a run for D2 must rebuild in them:
# customers delivered or ordering on D2, products delivered on D2, activity months from D2's on.
INCREMENTAL_D2_SLICES = {
    "intermediate.int_customer_versions": "customer_id in ('C2', 'C3')",
    "intermediate.int_product_versions": "product_id in ('P1', 'P2')",
    "core.dim_customers": "customer_id in ('C1', 'C2', 'C3')",
    "kpi.kpi_cohort_retention": "activity_month >= '2024-11-01'",
}
INTERMEDIATE_MODELS = ("int_customer_versions", "int_product_versions")

D0, D1, D2, D3 = (
    dt.date(2024, 8, 1),
    dt.date(2024, 11, 29),
    dt.date(2024, 11, 30),
    dt.date(2024, 12, 1),
)
D = Decimal

# ---------------------------------------------------------------------------------------------
# The raw dataset: {source: [row, ...]}; each row carries its _partition_date (and optionally
# _source_file / _loaded_at); _source_row is numbered per file.


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute))


def _store(store_id, name, channel, region, city, sqm, day=D1):
    return dict(
        store_id=store_id,
        store_name=name,
        channel=channel,
        region=region,
        city=city,
        opened_date=dt.date(2020, 1, 1),
        closed_date=None,
        square_meters=sqm,
        _partition_date=day,
    )


def _product(product_id, name, category, price, cost, day=D1):
    return dict(
        product_id=product_id,
        sku=f"SKU-{product_id}",
        product_name=name,
        category=category,
        brand="Acme",
        unit_price=D(price),
        unit_cost=D(cost),
        launched_date=dt.date(2024, 1, 1),
        is_active=True,
        _partition_date=day,
    )


def _customer(customer_id, city, signup, channel, day=D1):
    return dict(
        customer_id=customer_id,
        first_name="Ann",
        last_name=customer_id,
        email=f"{customer_id.lower()}@example.com",
        phone="+1 555 0100",
        street_address="1 Main St",
        city=city,
        region="North",
        signup_date=signup,
        acquisition_channel=channel,
        _partition_date=day,
    )


def _order(
    order_id,
    day,
    store_id,
    channel,
    customer_id,
    order_type="sale",
    status="completed",
    original=None,
    payment="card",
    **load,
):
    return dict(
        order_id=order_id,
        ordered_at=_at(day, 12),
        store_id=store_id,
        channel=channel,
        customer_id=customer_id,
        order_type=order_type,
        status=status,
        original_order_id=original,
        payment_method=payment,
        promotion_code=None,
        _partition_date=day,
        **load,
    )


def _line(order_id, day, number, product_id, quantity, price, discount="0.00", **load):
    return dict(
        order_id=order_id,
        line_number=number,
        product_id=product_id,
        line_type="return" if quantity < 0 else "sale",
        quantity=quantity,
        unit_price=D(price),
        discount_amount=D(discount),
        _partition_date=day,
        **load,
    )


def _session(session_id, day, customer_id, source, device, views, carts, checkout, order_id):
    return dict(
        session_id=session_id,
        started_at=_at(day, 11),
        customer_id=customer_id,
        traffic_source=source,
        device=device,
        product_views=views,
        add_to_cart_events=carts,
        reached_checkout=checkout,
        order_id=order_id,
        _partition_date=day,
    )


def _spend(day, channel, spend, impressions, clicks, new_customers):
    return dict(
        spend_date=day,
        channel=channel,
        spend=D(spend),
        impressions=impressions,
        clicks=clicks,
        new_customers=new_customers,
        _partition_date=day,
    )


def _stock(day, store_id, product_id, on_hand, received=0, on_order=None):
    return dict(
        snapshot_date=day,
        store_id=store_id,
        product_id=product_id,
        quantity_on_hand=on_hand,
        quantity_received=received,
        quantity_on_order=on_order,
        _partition_date=day,
    )


FIX = dict(_source_file="orders_2024-11-29_fix.csv", _loaded_at=_at(D2, 3))

DATASET: dict[str, list[dict[str, Any]]] = {
    "stores": [
        _store("S1", "Downtown", "store", "North", "Springfield", 500),
        _store("S2", "Mall", "store", "South", "Shelbyville", 800),
        _store("W1", "Web shop", "online", "Online", None, None),
    ],
    "products": [
        _product("P1", "Tee", "apparel", "20.00", "8.00"),
        _product("P2", "Mug", "home", "10.00", "4.00"),
        _product("P3", "Lamp", "home", "50.00", "30.00"),
        _product("P1", "Tee", "apparel", "22.00", "9.00", day=D2),
        _product("P2", "Mug", "home", "10.00", "4.00", day=D2),
    ],
    "customers": [
        _customer("C1", "Springfield", dt.date(2024, 1, 10), "paid_search"),
        _customer("C2", "Springfield", D1, "social"),
        _customer("C4", "Shelbyville", dt.date(2024, 7, 15), "email"),
        _customer("C2", "Springfield", D1, "social", day=D2),
        _customer("C3", "Shelbyville", D2, "paid_search", day=D2),
        _customer("C1", "Capital City", dt.date(2024, 1, 10), "paid_search", day=D3),
    ],
    "orders": [
        _order("O0", D0, "S2", "store", "C4"),
        _order("O1", D1, "S1", "store", "C1", payment="cash"),
        _order("O2", D1, "W1", "online", "C2", payment="paypal"),
        _order("O3", D1, "S2", "store", None, payment="cash"),
        _order("O4", D1, "W1", "online", "C1", status="cancelled"),
        _order("O1", D1, "S1", "store", "C1", payment="card", **FIX),
        _order("O5", D2, "S1", "store", "C1"),
        _order("O6", D2, "W1", "online", "C3"),
        _order("O7", D2, "S1", "store", "C1", order_type="return", original="O1"),
        _order("O8", D3, "S2", "store", "C2", payment="gift_card"),
    ],
    "order_lines": [
        _line("O0", D0, 1, "P2", 1, "10.00"),
        _line("O1", D1, 1, "P1", 2, "20.00", "4.00"),
        _line("O1", D1, 2, "P2", 1, "10.00"),
        _line("O2", D1, 1, "P3", 1, "50.00", "5.00"),
        _line("O3", D1, 1, "P2", 3, "10.00"),
        _line("O4", D1, 1, "P1", 1, "20.00"),
        _line("O1", D1, 1, "P1", 2, "20.00", "4.00", **FIX),
        _line("O5", D2, 1, "P1", 1, "22.00", "2.00"),
        _line("O5", D2, 2, "P3", 1, "50.00"),
        _line("O6", D2, 1, "P2", 2, "10.00", "1.00"),
        _line("O7", D2, 1, "P1", -1, "20.00", "2.00"),
        _line("O8", D3, 1, "P3", 1, "50.00"),
        _line("O8", D3, 2, "P2", 1, "10.00"),
    ],
    "web_sessions": [
        _session("WS1", D1, "C2", "organic", "desktop", 3, 1, True, "O2"),
        _session("WS2", D1, None, "paid_search", "mobile", 2, 1, False, None),
        _session("WS3", D1, "C1", "paid_search", "mobile", 1, 1, True, "O4"),
        _session("WS4", D1, None, "organic", "desktop", 0, 0, False, None),
        _session("WS5", D2, "C3", "paid_search", "mobile", 4, 2, True, "O6"),
        _session("WS6", D2, None, "social", "tablet", 1, 0, False, None),
    ],
    "marketing_spend": [
        _spend(D1, "paid_search", "100.00", 10000, 200, 1),
        _spend(D1, "social", "50.00", 5000, 50, 1),
        _spend(D2, "paid_search", "80.00", 8000, 160, 1),
        _spend(D2, "social", "40.00", 4000, 40, 0),
        _spend(D3, "paid_search", "60.00", 6000, 100, 0),
    ],
    "inventory_snapshots": [
        _stock(D1, "S1", "P1", 10, on_order=5),
        _stock(D1, "S1", "P2", 5),
        _stock(D1, "W1", "P3", 0, on_order=10),
        _stock(D1, "S2", "P2", 7, on_order=0),
        _stock(D2, "S1", "P1", 10, on_order=5),
        _stock(D2, "S1", "P2", 5),
        _stock(D2, "W1", "P3", 4, received=5, on_order=5),
        _stock(D2, "S2", "P2", 7, on_order=0),
        _stock(D3, "S1", "P1", 10, on_order=5),
        _stock(D3, "S1", "P2", 5),
        _stock(D3, "W1", "P3", 4, on_order=5),
        _stock(D3, "S2", "P2", 5, on_order=0),
    ],
}


def raw_rows(source: str, dataset: dict[str, list[dict[str, Any]]]) -> list[tuple[Any, ...]]:
    """The rows of raw.<source> in table column order, load columns filled in."""
    contract = load_contracts()[source]
    counters: dict[str, int] = {}
    rows = []
    for row in dataset.get(source, []):
        day = row["_partition_date"]
        source_file = row.get("_source_file", f"{source}_{day.isoformat()}.csv")
        counters[source_file] = counters.get(source_file, 0) + 1
        loaded_at = row.get("_loaded_at", _at(day + dt.timedelta(days=1), 2))
        values = [row.get(name) for name in contract.column_names]
        rows.append((*values, day, source_file, counters[source_file], loaded_at))
    return rows


def create_raw_tables(
    execute: Callable[[str, Sequence[Any] | None], None],
    placeholder: str,
    dataset: dict[str, list[dict[str, Any]]],
) -> None:
    """raw.<source> for every contract (contract types + load columns), filled from dataset."""
    execute("create schema if not exists raw", None)
    for source, contract in load_contracts().items():
        columns = [(c.name, c.type) for c in contract.columns] + list(LOAD_COLUMNS)
        ddl = ", ".join(
            f"{name} {'double precision' if type_ == 'DOUBLE' else type_}"
            for name, type_ in columns
        )
        execute(f"create table raw.{source} ({ddl})", None)
        insert = f"insert into raw.{source} values ({', '.join([placeholder] * len(columns))})"
        for row in raw_rows(source, dataset):
            execute(insert, row)


# ---------------------------------------------------------------------------------------------
# Warehouses and dbt runs


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open in-process after a run: close it so we can read it."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            with contextlib.suppress(Exception):
                DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


@dataclass
class Warehouse:
    """One built warehouse: a dbt target plus how to reach and query it."""

    target: str
    env: dict[str, str]
    work_dir: Path
    connect: Callable[[], Any]
    manifest: Any = None

    def dbt(self, *args: str) -> Any:
        result, failures = self.invoke(*args)
        assert result.success and not failures, failures or result.exception
        return result

    def invoke(self, *args: str) -> tuple[Any, list[str]]:
        """Run dbt; its result and the nodes that errored or failed."""
        from dbt.cli.main import dbtRunner

        command = [
            *args,
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target",
            self.target,
            "--target-path",
            str(self.work_dir / "target"),
            "--log-path",
            str(self.work_dir / "logs"),
            "--quiet",
        ]
        with environment(self.env):
            if self.manifest is None:
                parsed = dbtRunner().invoke(["parse", *command[len(args) :]])
                assert parsed.success, parsed.exception
                self.manifest = parsed.result
            result = dbtRunner(manifest=self.manifest).invoke(command)
        if self.target == "duckdb":
            _release_duckdb()
        failures = [
            f"{r.node.unique_id}: {r.status}: {r.message}"
            for r in (result.result or [])
            if str(r.status) in {"error", "fail"}
        ]
        return result, failures

    def query(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql)
            names = [d[0] for d in cursor.description]
            return names, [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()

    def table(self, schema: str, name: str) -> list[dict[str, Any]]:
        names, rows = self.query(f"select * from {schema}.{name}")
        records = [dict(zip(names, row, strict=True)) for row in rows]
        return sorted(records, key=_sort_key)

    def kpi(self, name: str, **where: Any) -> list[dict[str, Any]]:
        return [r for r in self.table("kpi", name) if all(r[k] == v for k, v in where.items())]

    def one(self, name: str, **where: Any) -> dict[str, Any]:
        rows = self.kpi(name, **where)
        assert len(rows) == 1, (name, where, rows)
        return rows[0]


def _sort_key(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple((value is None, value if value is not None else 0) for value in record.values())


def _duckdb_warehouse(
    work_dir: Path, dataset: dict[str, list[dict[str, Any]]], manifest: Any = None
) -> Warehouse:
    import duckdb

    # Same file name everywhere: the dbt database name (and so the parsed manifest) is shared.
    path = work_dir / "warehouse.duckdb"
    work_dir.mkdir(parents=True, exist_ok=True)
    connection = duckdb.connect(str(path))
    create_raw_tables(lambda sql, params: connection.execute(sql, params), "?", dataset)
    connection.close()
    return Warehouse(
        "duckdb",
        {"DATATRENDZ_WAREHOUSE_PATH": str(path)},
        work_dir,
        lambda: duckdb.connect(str(path)),
        manifest,
    )


@pytest.fixture(scope="session")
def duckdb_manifest_cache() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="session")
def duckdb_warehouse(tmp_path_factory, duckdb_manifest_cache) -> Warehouse:
    warehouse = _duckdb_warehouse(tmp_path_factory.mktemp("duckdb_full"), DATASET)
    warehouse.dbt("build")
    duckdb_manifest_cache["manifest"] = warehouse.manifest
    return warehouse


@pytest.fixture(scope="session")
def postgres_warehouse(tmp_path_factory) -> Iterator[Warehouse]:
    psycopg = pytest.importorskip("psycopg")
    from psycopg.conninfo import conninfo_to_dict

    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} "
            f"(set DATATRENDZ_TEST_POSTGRES_URL): {error}"
        )
    database = f"datatrendz_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'create database "{database}"')
    info = conninfo_to_dict(POSTGRES_URL)
    info["dbname"] = database
    try:
        with psycopg.connect(**info, autocommit=True) as connection:
            create_raw_tables(lambda sql, params: connection.execute(sql, params), "%s", DATASET)
        env = {
            "DATATRENDZ_PG_HOST": str(info.get("host", "127.0.0.1")),
            "DATATRENDZ_PG_PORT": str(info.get("port", "5432")),
            "DATATRENDZ_PG_USER": str(info.get("user", "postgres")),
            "DATATRENDZ_PG_PASSWORD": str(info.get("password", "")),
            "DATATRENDZ_PG_DATABASE": database,
        }
        warehouse = Warehouse(
            "postgres",
            env,
            tmp_path_factory.mktemp("postgres_full"),
            lambda: psycopg.connect(**info),
        )
        warehouse.dbt("build")
        yield warehouse
    finally:
        admin.execute(f'drop database if exists "{database}" with (force)')
        admin.close()


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def warehouse(request) -> Warehouse:
    return request.getfixturevalue(f"{request.param}_warehouse")


# ---------------------------------------------------------------------------------------------
# KPI values computed by hand


def test_kpi_daily_sales(warehouse: Warehouse) -> None:
    rows = warehouse.table("kpi", "kpi_daily_sales")
    # (date, store, channel, category): gross, discounts, returns, net, orders, units sold,
    # units returned, AOV = (sales net of discounts) / orders, units/order, COGS, margin,
    # margin rate = margin / net, return rate = units returned / units sold.
    # fmt: off
    expected = {
        (D0, "S2", "store", "home"): ("10.00", "0", "0", "10.00", 1, 1, 0, "10.00", "1", "4.00", "6.00", "0.6", "0"),
        (D1, "S1", "store", "apparel"): ("40.00", "4.00", "0", "36.00", 1, 2, 0, "36.00", "2", "16.00", "20.00", "0.5556", "0"),
        (D1, "S1", "store", "home"): ("10.00", "0", "0", "10.00", 1, 1, 0, "10.00", "1", "4.00", "6.00", "0.6", "0"),
        # O2 only: the cancelled O4 (P1, apparel, W1) earns nothing and makes no row
        (D1, "W1", "online", "home"): ("50.00", "5.00", "0", "45.00", 1, 1, 0, "45.00", "1", "30.00", "15.00", "0.3333", "0"),
        (D1, "S2", "store", "home"): ("30.00", "0", "0", "30.00", 1, 3, 0, "30.00", "3", "12.00", "18.00", "0.6", "0"),
        # O5 P1 (22 - 2 = 20, cost 9) and the return O7 (-20 + 2 = -18, cost -9 at D2's cost):
        # net 2, COGS 0, margin 11 - 9 = 2; the return order is not an order; AOV 20 / 1
        (D2, "S1", "store", "apparel"): ("22.00", "2.00", "18.00", "2.00", 1, 1, 1, "20.00", "1", "0", "2.00", "1", "1"),
        (D2, "S1", "store", "home"): ("50.00", "0", "0", "50.00", 1, 1, 0, "50.00", "1", "30.00", "20.00", "0.4", "0"),
        (D2, "W1", "online", "home"): ("20.00", "1.00", "0", "19.00", 1, 2, 0, "19.00", "2", "8.00", "11.00", "0.5789", "0"),
        (D3, "S2", "store", "home"): ("60.00", "0", "0", "60.00", 1, 2, 0, "60.00", "2", "34.00", "26.00", "0.4333", "0"),
    }
    # fmt: on
    measures = (
        "gross_revenue",
        "discounts",
        "returns_value",
        "net_revenue",
        "orders",
        "units_sold",
        "units_returned",
        "average_order_value",
        "units_per_order",
        "cost_of_goods",
        "gross_margin",
        "gross_margin_rate",
        "return_rate",
    )
    got = {
        (r["sales_date"], r["store_id"], r["channel"], r["category"]): tuple(r[m] for m in measures)
        for r in rows
    }
    assert got == {key: tuple(_num(v) for v in values) for key, values in expected.items()}


def test_kpi_customers_daily(warehouse: Warehouse) -> None:
    # Buyers are customers with a completed sale that day. C4 bought on D0 only: active for
    # 90 days (D0 .. 2024-10-29), churned from 2024-10-30. Revenue to date counts every
    # non-cancelled order of an identified customer: D0 10, D1 46 + 45, D2 70 + 19 - 18, D3 60.
    measures = (
        "active_customers",
        "buyers",
        "new_customers",
        "returning_customers",
        "customers_to_date",
        "repeat_customers_to_date",
        "repeat_purchase_rate",
        "churned_customers",
        "churn_rate",
        "net_revenue_to_date",
        "customer_lifetime_value",
    )
    expected = {
        D0: (1, 1, 1, 0, 1, 0, "0", 0, "0", "10.00", "10.00"),
        dt.date(2024, 10, 29): (1, 0, 0, 0, 1, 0, "0", 0, "0", "10.00", "10.00"),
        dt.date(2024, 10, 30): (0, 0, 0, 0, 1, 0, "0", 1, "1", "10.00", "10.00"),
        # C1 and C2 buy for the first time; C4 is churned; CLV 101 / 3
        D1: (2, 2, 2, 0, 3, 0, "0", 1, "0.3333", "101.00", "33.67"),
        # C1 buys again (repeat), C3 is new; CLV 172 / 4
        D2: (3, 2, 1, 1, 4, 1, "0.25", 1, "0.25", "172.00", "43.00"),
        # C2 buys again; active C1 (D2), C2, C3; CLV 232 / 4
        D3: (3, 1, 0, 1, 4, 2, "0.5", 1, "0.25", "232.00", "58.00"),
    }
    rows = {r["customer_date"]: r for r in warehouse.table("kpi", "kpi_customers_daily")}
    assert min(rows) == D0 and max(rows) == D3 and len(rows) == (D3 - D0).days + 1
    for day, values in expected.items():
        assert tuple(rows[day][m] for m in measures) == tuple(_num(v) for v in values), day


def test_kpi_web_funnel_daily(warehouse: Warehouse) -> None:
    measures = (
        "sessions",
        "product_view_rate",
        "add_to_cart_rate",
        "checkout_rate",
        "conversion_rate",
        "cart_abandonment_rate",
    )
    expected = {
        # WS1 (views, cart, checkout, order O2) and WS4 (nothing)
        (D1, "organic", "desktop"): (2, "0.5", "0.5", "0.5", "0.5", "0"),
        # WS2 (cart, no order) and WS3 (cart, checkout, order O4 - later cancelled)
        (D1, "paid_search", "mobile"): (2, "1", "1", "0.5", "0.5", "0.5"),
        (D2, "paid_search", "mobile"): (1, "1", "1", "1", "1", "0"),
        # WS6 viewed and left: no cart, so no cart abandonment rate
        (D2, "social", "tablet"): (1, "1", "0", "0", "0", None),
    }
    got = {
        (r["session_date"], r["traffic_source"], r["device"]): tuple(r[m] for m in measures)
        for r in warehouse.table("kpi", "kpi_web_funnel_daily")
    }
    assert got == {key: tuple(_num(v) for v in values) for key, values in expected.items()}


def test_kpi_marketing_daily(warehouse: Warehouse) -> None:
    # New customers = customers of the channel whose first completed sale is that day; the
    # channel is credited with that first order's net revenue. CAC = spend / new customers,
    # ROAS = attributed revenue / spend, CTR = clicks / impressions.
    measures = (
        "spend",
        "clicks",
        "click_through_rate",
        "reported_new_customers",
        "new_customers",
        "customer_acquisition_cost",
        "attributed_revenue",
        "return_on_ad_spend",
    )
    expected = {
        (D0, "email"): ("0", 0, None, 0, 1, "0", "10.00", None),  # C4, no spend recorded
        (D1, "paid_search"): ("100.00", 200, "0.02", 1, 1, "100.00", "46.00", "0.46"),  # C1: O1
        (D1, "social"): ("50.00", 50, "0.01", 1, 1, "50.00", "45.00", "0.9"),  # C2: O2
        (D2, "paid_search"): ("80.00", 160, "0.02", 1, 1, "80.00", "19.00", "0.2375"),  # C3: O6
        (D2, "social"): ("40.00", 40, "0.01", 0, 0, None, "0", "0"),
        (D3, "paid_search"): ("60.00", 100, "0.0167", 0, 0, None, "0", "0"),  # 100 / 6000
    }
    got = {
        (r["marketing_date"], r["channel"]): tuple(r[m] for m in measures)
        for r in warehouse.table("kpi", "kpi_marketing_daily")
    }
    assert got == {key: tuple(_num(v) for v in values) for key, values in expected.items()}


def test_kpi_inventory_health(warehouse: Warehouse) -> None:
    # units sold in the 28 days ending that day at that store; days of cover = on hand * 28 /
    # units sold; sell-through = units sold / (units sold + on hand); low stock = cover < 7.
    measures = (
        "quantity_on_hand",
        "units_sold_28d",
        "average_daily_units_sold_28d",
        "days_of_cover",
        "is_stock_out",
        "stock_out_days_28d",
        "is_low_stock",
        "sell_through_rate_28d",
    )
    expected = {
        (D1, "W1", "P3"): (0, 1, "0.0357", "0", True, 1, True, "1"),  # O2 sold the last lamp
        (D3, "W1", "P3"): (4, 1, "0.0357", "112.00", False, 1, False, "0.2"),
        (D2, "S1", "P1"): (10, 3, "0.1071", "93.33", False, 0, False, "0.2308"),  # O1 2 + O5 1
        (D2, "S1", "P2"): (5, 1, "0.0357", "140.00", False, 0, False, "0.1667"),
        (D3, "S2", "P2"): (5, 4, "0.1429", "35.00", False, 0, False, "0.4444"),  # O3 3 + O8 1
        (D3, "S1", "P2"): (5, 1, "0.0357", "140.00", False, 0, False, "0.1667"),
    }
    rows = warehouse.table("kpi", "kpi_inventory_health")
    assert len(rows) == 12
    got = {(r["snapshot_date"], r["store_id"], r["product_id"]): r for r in rows}
    for key, values in expected.items():
        assert tuple(got[key][m] for m in measures) == tuple(_num(v) for v in values), key


def test_kpi_executive_summary(warehouse: Warehouse) -> None:
    rows = {r["summary_date"]: r for r in warehouse.table("kpi", "kpi_executive_summary")}
    assert min(rows) == D0 and max(rows) == D3 and len(rows) == (D3 - D0).days + 1
    day = (
        "net_revenue",
        "orders",
        "average_order_value",
        "sessions",
        "conversion_rate",
        "new_customers",
    )
    # D1: O1 46 + O2 45 + O3 30; AOV 121 / 3; WS1 and WS3 ordered out of 4 sessions; C1, C2 new
    assert tuple(rows[D1][m] for m in day) == _nums("121.00", 3, "40.33", 4, "0.5", 2)
    # D2: 70 + 19 - 18 (the return); AOV (70 + 19) / 2
    assert tuple(rows[D2][m] for m in day) == _nums("71.00", 2, "44.50", 2, "0.5", 1)
    # D3: no sessions, so no conversion rate
    assert tuple(rows[D3][m] for m in day) == _nums("60.00", 1, "60.00", 0, None, 0)
    d3 = rows[D3]
    # trailing 7 days (11-25 .. 12-01) hold D1..D3; the 7 days before hold nothing
    assert (d3["net_revenue_7d"], d3["net_revenue_previous_7d"]) == _nums("252.00", "0")
    assert (d3["net_revenue_wow_change"], d3["net_revenue_wow_pct"]) == _nums("252.00", None)
    assert (d3["orders_7d"], d3["average_order_value_7d"]) == _nums(6, "45.00")  # 270 / 6
    assert (d3["conversion_rate_7d"], d3["new_customers_7d"]) == _nums("0.5", 3)
    assert d3["net_revenue_28d"] == _num("252.00")
    # a year before there is no data at all
    assert (d3["net_revenue_last_year"], d3["net_revenue_yoy_pct"]) == (None, None)
    # D0 + 7: same weekday last week is D0 (10.00); -100 %
    week_later = rows[D0 + dt.timedelta(days=7)]
    assert (
        week_later["net_revenue_last_week"],
        week_later["net_revenue_vs_last_week_change"],
        week_later["net_revenue_vs_last_week_pct"],
    ) == _nums("10.00", "-10.00", "-1")
    assert rows[D0]["net_revenue_last_week"] is None


def test_kpi_top_products(warehouse: Warehouse) -> None:
    daily = warehouse.kpi("kpi_top_products_daily", sales_date=D2)
    # P3 50 (O5), P2 19 (O6), P1 20 - 18 = 2 (O5 and the return O7)
    assert [(r["revenue_rank"], r["product_id"], r["net_revenue"]) for r in daily] == [
        (1, "P3", D("50.00")),
        (2, "P2", D("19.00")),
        (3, "P1", D("2.00")),
    ]
    weekly = warehouse.kpi("kpi_top_products_weekly", week_start_date=dt.date(2024, 11, 25))
    # week of Mon 11-25: P3 45 + 50 + 50; P2 10 + 30 + 19 + 10; P1 36 + 20 - 18
    assert [
        (r["revenue_rank"], r["product_id"], r["net_revenue"], r["units_sold"]) for r in weekly
    ] == [(1, "P3", D("145.00"), 3), (2, "P2", D("69.00"), 7), (3, "P1", D("38.00"), 3)]


def test_kpi_cohort_retention(warehouse: Warehouse) -> None:
    got = [
        (
            r["cohort_month"],
            r["months_since_first_order"],
            r["cohort_customers"],
            r["active_customers"],
            r["retention_rate"],
        )
        for r in warehouse.table("kpi", "kpi_cohort_retention")
    ]
    # cohorts: 2024-08 = {C4}; 2024-11 = {C1, C2, C3}; in December only C2 bought (O8)
    assert got == [
        (dt.date(2024, 8, 1), 0, 1, 1, D("1")),
        (dt.date(2024, 11, 1), 0, 3, 3, D("1")),
        (dt.date(2024, 11, 1), 1, 3, 1, D("0.3333")),
    ]


def test_core_marts(warehouse: Warehouse) -> None:
    orders = {r["order_id"]: r for r in warehouse.table("core", "fct_orders")}
    assert len(orders) == 9
    assert orders["O1"]["payment_method"] == "card"  # the later delivery of O1 wins
    assert (orders["O1"]["net_amount"], orders["O1"]["line_count"]) == (D("46.00"), 2)
    assert (orders["O7"]["is_return"], orders["O7"]["net_amount"]) == (True, D("-18.00"))
    assert len(warehouse.table("core", "fct_order_lines")) == 12
    # O0 predates the first product delivery: it takes the first version's cost
    lines = {r["order_line_id"]: r for r in warehouse.table("core", "fct_order_lines")}
    assert (lines["O0-1"]["unit_cost"], lines["O7-1"]["unit_cost"]) == (D("4.00"), D("9.00"))

    products = [
        (r["product_id"], r["valid_from"], r["valid_to"], r["is_current"], r["unit_cost"])
        for r in warehouse.table("core", "dim_products")
    ]
    assert products == [
        ("P1", D1, D2, False, D("8.00")),
        ("P1", D2, None, True, D("9.00")),
        ("P2", D1, None, True, D("4.00")),
        ("P3", D1, None, True, D("30.00")),
    ]
    customers = [
        (r["customer_id"], r["valid_from"], r["is_current"], r["city"], r["first_order_date"])
        for r in warehouse.table("core", "dim_customers")
    ]
    assert customers == [
        ("C1", D1, False, "Springfield", D1),
        ("C1", D3, True, "Capital City", D1),
        ("C2", D1, True, "Springfield", D1),
        ("C3", D2, True, "Shelbyville", D2),
        ("C4", D1, True, "Shelbyville", D0),
    ]
    _, rows = warehouse.query(
        "select date_day, is_black_friday, is_cyber_monday, is_weekend, holiday_name "
        "from core.dim_date where date_day in ('2024-11-29', '2024-12-02', '2024-11-30') "
        "order by date_day"
    )
    assert rows == [
        (D1, True, False, False, "Black Friday"),
        (D2, False, False, True, None),
        (dt.date(2024, 12, 2), False, True, False, "Cyber Monday"),
    ]


# ---------------------------------------------------------------------------------------------
# Cross-target, incremental and empty-source behaviour


def _schema(model: str) -> str:
    return {"kpi": "kpi", "int": "intermediate"}.get(model.split("_")[0], "core")


# Which dbt run wrote a row: differs between builds that agree on everything else.
BUILD_MARKERS = frozenset({"built_at"})


def _snapshot(warehouse: Warehouse, models: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    return {
        name: [
            {k: v for k, v in row.items() if k not in BUILD_MARKERS}
            for row in warehouse.table(_schema(name), name)
        ]
        for name in models
    }


def test_order_facts_are_stored_in_date_order(duckdb_warehouse: Warehouse) -> None:
    # DuckDB skips a row group by its min/max dates only when each holds few days.
    for table in ("fct_orders", "fct_order_lines"):
        _, rows = duckdb_warehouse.query(f"select order_date from core.{table} order by rowid")
        dates = [date for (date,) in rows]
        assert dates == sorted(dates), table


@pytest.mark.postgres
def test_duckdb_and_postgres_give_identical_kpi_tables(
    duckdb_warehouse, postgres_warehouse
) -> None:
    duck = _snapshot(duckdb_warehouse, KPI_MODELS + CORE_MODELS)
    pg = _snapshot(postgres_warehouse, KPI_MODELS + CORE_MODELS)
    for name in duck:
        assert duck[name] == pg[name], name
        assert duck[name], f"{name} is empty"


def _copy_of(warehouse: Warehouse, work_dir: Path) -> Warehouse:
    """The built DuckDB warehouse copied to work_dir/warehouse.duckdb, to change at will."""
    import duckdb

    path = work_dir / "warehouse.duckdb"
    shutil.copy(warehouse.work_dir / "warehouse.duckdb", path)
    return Warehouse(
        "duckdb",
        {"DATATRENDZ_WAREHOUSE_PATH": str(path)},
        work_dir,
        lambda: duckdb.connect(str(path)),
        warehouse.manifest,
    )


def test_one_day_incremental_run_matches_the_full_build(duckdb_warehouse, tmp_path) -> None:
    import duckdb

    before = _snapshot(duckdb_warehouse, KPI_MODELS + CORE_MODELS + INTERMEDIATE_MODELS)
    copy = _copy_of(duckdb_warehouse, tmp_path)
    path = tmp_path / "warehouse.duckdb"
    # Forget D2 (and its week) in every incremental table, so the run must really rebuild it.
    connection = duckdb.connect(str(path))
    for table, column in INCREMENTAL_DATE_COLUMNS.items():
        day = dt.date(2024, 11, 25) if table.endswith("weekly") else D2
        connection.execute(f"delete from {table} where {column} = ?", [day])
    for table, condition in INCREMENTAL_D2_SLICES.items():
        connection.execute(f"delete from {table} where {condition}")
    connection.close()
    assert _snapshot(copy, ("kpi_daily_sales",)) != {"kpi_daily_sales": before["kpi_daily_sales"]}

    copy.dbt("build", "--vars", '{"min_date": "2024-11-30", "max_date": "2024-11-30"}')
    assert _snapshot(copy, KPI_MODELS + CORE_MODELS + INTERMEDIATE_MODELS) == before


def test_a_daily_run_tests_the_customer_versions_it_rebuilt(duckdb_warehouse, tmp_path) -> None:
    """The SCD type 2 tests of a windowed run check the rows of its own build (every customer it
    rebuilt, whole), not the whole history; a run without a window checks everything."""
    import duckdb

    copy = _copy_of(duckdb_warehouse, tmp_path)
    path = tmp_path / "warehouse.duckdb"
    window = json.dumps({"min_date": str(D2), "max_date": str(D2)})
    copy.dbt("run", "--select", "int_customer_versions", "--vars", window)  # rebuilds C2, C3
    scd2_tests = {
        "unique_int_customer_versions_customer_version_id",
        "one_current_version_int_customer_versions_customer_id",
    }

    def failing(customer: str, *args: str) -> set[str]:
        with duckdb.connect(str(path)) as connection:
            # A second copy of the customer's versions: duplicate ids, two current versions.
            connection.execute(
                "insert into intermediate.int_customer_versions "
                "select * from intermediate.int_customer_versions where customer_id = ?",
                [customer],
            )
        _, failures = copy.invoke("test", "--select", "int_customer_versions", *args)
        with duckdb.connect(str(path)) as connection:
            connection.execute(
                "delete from intermediate.int_customer_versions where customer_id = ? "
                "and rowid not in (select min(rowid) from intermediate.int_customer_versions "
                "where customer_id = ? group by customer_version_id)",
                [customer, customer],
            )
        # A failure starts with the test's unique id, test.<project>.<name>.<hash>.
        return {failure.split(":")[0].split(".")[2] for failure in failures}

    assert failing("C2", "--vars", window) == scd2_tests
    assert failing("C1", "--vars", window) == set()  # built by an earlier run, tested by it
    assert failing("C1") == scd2_tests


def test_days_built_one_by_one_match_the_full_build(duckdb_warehouse, tmp_path) -> None:
    """D2 and D3 arrive after the rest has been built: a new customer (C3), a changed one (C1),
    a redelivery that changes nothing (C2, P2), a price change (P1), a return of an earlier
    order. Two daily runs must leave every table as the full build from all the data does."""
    import duckdb

    reference = _snapshot(duckdb_warehouse, KPI_MODELS + CORE_MODELS + INTERMEDIATE_MODELS)
    earlier = {
        source: [row for row in rows if row["_partition_date"] < D2]
        for source, rows in DATASET.items()
    }
    warehouse = _duckdb_warehouse(tmp_path, earlier, duckdb_warehouse.manifest)
    warehouse.dbt("run")

    # The late days land: raw now holds everything.
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    connection.execute("drop schema raw cascade")
    create_raw_tables(lambda sql, params: connection.execute(sql, params), "?", DATASET)
    connection.close()
    for day in (D2, D3):
        warehouse.dbt("run", "--vars", json.dumps({"min_date": str(day), "max_date": str(day)}))
    assert _snapshot(warehouse, KPI_MODELS + CORE_MODELS + INTERMEDIATE_MODELS) == reference


def test_missing_optional_source_builds_empty_outputs(tmp_path, duckdb_warehouse) -> None:
    dataset = {k: v for k, v in DATASET.items() if k != "web_sessions"}
    warehouse = _duckdb_warehouse(tmp_path, dataset, duckdb_warehouse.manifest)
    warehouse.dbt("build")
    assert warehouse.table("core", "fct_web_sessions") == []
    assert warehouse.table("kpi", "kpi_web_funnel_daily") == []
    summary = warehouse.one("kpi_executive_summary", summary_date=D1)
    assert (summary["net_revenue"], summary["sessions"], summary["conversion_rate"]) == _nums(
        "121.00", 0, None
    )


def _num(value: Any) -> Any:
    return D(value) if isinstance(value, str) else value


def _nums(*values: Any) -> tuple[Any, ...]:
    return tuple(_num(v) for v in values)
