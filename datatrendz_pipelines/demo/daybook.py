"""One simulated day, end to end: dimension changes, stock, sales, returns, sessions, files."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.demo import names
from datatrendz_pipelines.demo.calendar import Calendar
from datatrendz_pipelines.demo.catalog import Catalog, Stores
from datatrendz_pipelines.demo.columns import contract_table
from datatrendz_pipelines.demo.config import GeneratorConfig
from datatrendz_pipelines.demo.daytables import (
    OrderDay,
    customer_table,
    inventory_table,
    order_tables,
    product_table,
    store_table,
)
from datatrendz_pipelines.demo.demand import (
    CustomerPicker,
    DemandModel,
    TimeSampler,
    expected_units,
)
from datatrendz_pipelines.demo.faults import FaultPlan
from datatrendz_pipelines.demo.inject import (
    cut_short,
    inject_row_faults,
    revenue_drop_record,
    split_late,
    traffic_spike_record,
)
from datatrendz_pipelines.demo.inventory import Inventory
from datatrendz_pipelines.demo.manifest import FileEntry, Injected, Manifest
from datatrendz_pipelines.demo.people import (
    Customers,
    Marketing,
    customer_change_rows,
    marketing_day,
)
from datatrendz_pipelines.demo.returns import ReturnBook
from datatrendz_pipelines.demo.sales import Transactions, simulate_sales
from datatrendz_pipelines.demo.sessions import SessionDay, simulate_sessions
from datatrendz_pipelines.demo.writer import FileWriter, landing_path

VOLUME_DROP_SHARE = 0.25  # share of the day's orders an export cut short still delivers
LATE_SHARE = 0.3  # share of the day's orders whose lines arrive in the late file
REVENUE_DROP_FACTOR = 0.3  # share of its normal sales the revenue-drop shop makes that day
BOT_FACTOR = 3.0  # bot sessions per normal session on the traffic spike day (~4x traffic)
UNKNOWN_PRODUCT_FROM = 90_000  # product numbers no catalog reaches


@dataclass(frozen=True)
class World:
    """Everything drawn up front: the business and the plan of what goes wrong when."""

    config: GeneratorConfig
    contracts: dict[str, Contract]
    calendar: Calendar
    stores: Stores
    catalog: Catalog
    customers: Customers
    marketing: Marketing
    plan: FaultPlan
    model: DemandModel


class DayBook:
    """Runs the days in order, holding the state that carries from one day to the next
    (prices, stock, pending returns) and recording every file in the manifest."""

    def __init__(
        self,
        world: World,
        inventory: Inventory,
        writer: FileWriter,
        manifest: Manifest,
        landing_dir: Path,
        held_back_dir: Path,
        rng: dict[str, np.random.Generator],
    ) -> None:
        self.world, self.inventory, self.writer, self.manifest = world, inventory, writer, manifest
        self.config, self.contracts, self.calendar = world.config, world.contracts, world.calendar
        self.stores, self.catalog, self.customers = world.stores, world.catalog, world.customers
        self.marketing, self.plan, self.model = world.marketing, world.plan, world.model
        self.landing_dir, self.held_back_dir, self.rng = landing_dir, held_back_dir, rng
        self.picker = CustomerPicker(world.customers, len(names.REGIONS))
        self.times = TimeSampler()
        self.returns = ReturnBook(world.calendar, world.catalog.category, world.stores.online)
        self.price, self.cost = world.catalog.price.copy(), world.catalog.cost.copy()
        self.active = np.ones(world.catalog.count, dtype=bool)
        self.unknown_from = UNKNOWN_PRODUCT_FROM

    def run_day(self, day: int) -> None:
        """Simulate day `day` (0 = config.start) and write its files; days must run in order."""
        date = self.calendar.dates[day]
        self._dimensions(day, date)
        inv = self.inventory
        if day % 14 == 0:  # the replenishment forecast is refreshed every two weeks
            inv.update_policy(
                expected_units(
                    self.model,
                    self.calendar,
                    day,
                    inv.loc_store,
                    self._loc_weight(day + 14),
                    inv.bounds,
                )
            )
            if day == 0:
                inv.open_stock(self.rng["inventory"])
        received = inv.receive(day, bool(self.calendar.stores_open[day]))
        self.picker.prepare(day)
        sales = simulate_sales(
            self.rng["sales"],
            day,
            self.calendar,
            self.stores,
            self.model,
            inv,
            np.cumsum(self._loc_weight(day, sellable=True)),
            self.picker,
            self.times,
            self.price,
        )
        returns = self.returns.due(self.rng["returns"], day, self.times)
        shipped = ~sales.cancelled[sales.line_order]  # cancelled web orders never leave the shelf
        inv.move(sales.loc[shipped], -sales.quantity[shipped])
        if returns is not None:
            inv.move(returns.tx.loc, -returns.tx.quantity)
        promotion = self.calendar.promotion_on(day)
        orders = order_tables(
            self.contracts,
            date,
            sales,
            returns,
            self.stores,
            self.customers.columns["customer_id"],
            self.catalog.columns["product_id"],
            promotion.code if promotion else None,
        )
        if day != self.plan.volume_drop:  # sales the export lost cannot be referenced later
            self.returns.schedule(self.rng["returns"], day, sales, orders.sale_ids)
        inv.replenish(day, self.active)
        sessions = self._sessions(day, date, sales, orders)
        self._facts(day, date, orders, sessions, received)

    def _loc_weight(self, day: int, sellable: bool = False) -> np.ndarray:
        """Demand weight per location: popular products more; discontinued ones sell off their
        remaining stock and then leave the shelf."""
        inv = self.inventory
        listed = self.active[inv.loc_product]
        if sellable:
            listed = listed | (inv.on_hand > 0)
        return self.catalog.popularity[inv.loc_product] * (inv.live_from <= day) * listed

    def _write(self, source: str, date: dt.date, table: pa.Table, late: bool = False) -> str:
        ext = self.config.file_format
        suffix = "_late" if late else ""
        relative = landing_path(self.landing_dir, source, date, ext, suffix).relative_to(
            self.landing_dir
        )
        target = (self.held_back_dir if late else self.landing_dir) / relative
        rows = self.writer.write(table, target)
        self.manifest.files.setdefault(source, []).append(
            FileEntry(date.isoformat(), relative.as_posix(), rows, late)
        )
        return relative.as_posix()

    def _dimensions(self, day: int, date: dt.date) -> None:
        """Change files: day 0 holds the existing base, later days only what is new or changed."""
        stores = np.flatnonzero(
            self.stores.open_day <= 0 if day == 0 else self.stores.open_day == day
        )
        if len(stores):
            self._write("stores", date, store_table(self.contracts["stores"], self.stores, stores))
        changed = self.catalog.apply_events(day, self.price, self.cost, self.active)
        launch = self.catalog.launch_day
        launched = np.flatnonzero(launch <= 0 if day == 0 else launch == day)
        products = np.union1d(launched, changed)
        if len(products):
            self._write(
                "products",
                date,
                product_table(
                    self.contracts["products"],
                    self.catalog,
                    products,
                    self.price,
                    self.cost,
                    self.active,
                ),
            )
        idx, street, city = customer_change_rows(self.customers, day)
        if len(idx):
            self._write(
                "customers",
                date,
                customer_table(self.contracts["customers"], self.customers, idx, street, city),
            )

    def _sessions(
        self, day: int, date: dt.date, sales: Transactions, orders: OrderDay
    ) -> SessionDay:
        web = np.flatnonzero(sales.store == self.stores.online)
        n_lines = np.bincount(sales.line_order, minlength=len(sales.store))[web]
        expected = self.model.expected_orders(self.calendar, day)[self.stores.online]
        bots = BOT_FACTOR if day == self.plan.traffic_spike else 0.0
        return simulate_sessions(
            self.rng["sessions"],
            date,
            expected,
            sales.seconds[web],
            sales.customer[web],
            n_lines,
            orders.sale_ids.take(pa.array(web, pa.int64())),
            self.picker,
            self.customers.columns["customer_id"],
            self.times,
            bots,
        )

    def _facts(
        self, day: int, date: dt.date, od: OrderDay, sessions: SessionDay, received: np.ndarray
    ) -> None:
        iso, ext = date.isoformat(), self.config.file_format
        files = {
            s: landing_path(self.landing_dir, s, date, ext).relative_to(self.landing_dir).as_posix()
            for s in ("orders", "order_lines", "web_sessions")
        }
        orders, lines, late = od.orders, od.lines, None
        records: list[Injected] = []
        if day == self.plan.volume_drop:
            orders, lines, records = cut_short(
                orders, lines, sessions.columns, VOLUME_DROP_SHARE, iso, files
            )
        if day == self.plan.late_file:
            late_path = landing_path(
                self.landing_dir, "order_lines", date, ext, "_late"
            ).relative_to(self.landing_dir)
            held = (
                self.held_back_dir.relative_to(self.held_back_dir.parent) / late_path
            ).as_posix()
            lines, late, record = split_late(
                lines, orders, LATE_SHARE, iso, late_path.as_posix(), held
            )
            records.append(record)
        elif day in self.plan.row_days:
            orders, lines, injected = inject_row_faults(
                self.rng["faults"], self.plan, day, iso, orders, lines, files, self.unknown_from
            )
            records += injected
            self.unknown_from += sum(r.count for r in records if r.kind == "unknown_product")
        if self.plan.revenue_drop and day == self.plan.revenue_drop[0]:
            store_id = self.stores.ids[self.plan.revenue_drop[1]].as_py()
            records.append(revenue_drop_record(orders, store_id, REVENUE_DROP_FACTOR, iso, files))
        self._write("orders", date, orders)
        self._write("order_lines", date, lines)
        if late is not None:
            self._write("order_lines", date, late, late=True)
        inventory = inventory_table(
            self.contracts["inventory_snapshots"],
            date,
            day,
            self.inventory,
            received,
            self.stores,
            self.catalog,
        )
        self._write("inventory_snapshots", date, inventory)
        session_table = contract_table(self.contracts["web_sessions"], sessions.columns)
        if sessions.bot.any():
            records.append(
                traffic_spike_record(session_table, sessions.bot, 1 + BOT_FACTOR, iso, files)
            )
        self._write("web_sessions", date, session_table)
        spend = contract_table(
            self.contracts["marketing_spend"], marketing_day(self.marketing, day, self.config.start)
        )
        self._write("marketing_spend", date, spend)
        self.manifest.injected.extend(records)
