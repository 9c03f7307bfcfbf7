"""Contract-shaped tables of one day's transactions, inventory and dimension changes.

Order ids read `<P|W|R>-YYYYMMDD-NNNNNN`: P a till sale, W a web sale, R a return; the number
is the transaction's rank in the day by time, so ids sort like the file.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datatrendz_pipelines.contracts import Contract
from datatrendz_pipelines.demo.catalog import Catalog, Stores
from datatrendz_pipelines.demo.columns import (
    codes_to_strings,
    contract_table,
    join,
    money,
    numbered,
    timestamps,
)
from datatrendz_pipelines.demo.inventory import Inventory
from datatrendz_pipelines.demo.people import Customers
from datatrendz_pipelines.demo.returns import Returns
from datatrendz_pipelines.demo.sales import PAYMENTS, Transactions


@dataclass(frozen=True)
class OrderDay:
    """A day's orders and order_lines before faults are injected."""

    orders: pa.Table  # contract columns + `_pos` (row position, for sorting injected rows)
    lines: pa.Table  # contract columns + `_pos` (position of the line's order)
    sale_ids: pa.Array  # order id of each sale transaction, in Transactions order


def order_tables(
    contracts: dict[str, Contract],
    day: dt.date,
    sales: Transactions,
    returns: Returns | None,
    stores: Stores,
    customer_ids: pa.Array,
    product_ids: pa.Array,
    promo_code: str | None,
) -> OrderDay:
    """Merge the day's sales and returns into time-ordered orders and order_lines tables."""
    rtx = returns.tx if returns is not None else None
    n_sale = len(sales.store)
    n_ret = len(rtx.store) if rtx is not None else 0

    def both(name: str) -> np.ndarray:
        own = getattr(sales, name)
        return np.concatenate([own, getattr(rtx, name)]) if rtx is not None else own

    seconds, store, customer, payment = (
        both("seconds"),
        both("store"),
        both("customer"),
        both("payment"),
    )
    is_return = np.arange(n_sale + n_ret) >= n_sale
    online = store == stores.online
    cancelled = np.concatenate([sales.cancelled, np.zeros(n_ret, dtype=bool)])
    promo = np.concatenate([sales.promo, np.zeros(n_ret, dtype=bool)])
    by_time = np.argsort(seconds, kind="stable")
    position = np.empty_like(by_time)
    position[by_time] = np.arange(len(by_time))

    kind = np.where(is_return, 2, online.astype(np.int64))[by_time]
    ids = join(
        codes_to_strings(("P-", "W-", "R-"), kind),
        day.strftime("%Y%m%d-"),
        numbered("", np.arange(1, len(by_time) + 1), 6),
    )
    original = pa.nulls(n_sale, pa.string())
    if returns is not None:
        original = pa.concat_arrays([original, returns.original_id])
    orders = contract_table(
        contracts["orders"],
        {
            "order_id": ids,
            "ordered_at": timestamps(day, seconds[by_time]),
            "store_id": stores.ids.take(pa.array(store[by_time])),
            "channel": codes_to_strings(("store", "online"), online[by_time].astype(np.int64)),
            "customer_id": codes_to_strings(customer_ids, customer[by_time]),
            "order_type": codes_to_strings(("sale", "return"), is_return[by_time].astype(np.int64)),
            "status": codes_to_strings(
                ("completed", "cancelled"), cancelled[by_time].astype(np.int64)
            ),
            "original_order_id": original.take(pa.array(by_time)),
            "payment_method": codes_to_strings(PAYMENTS, payment[by_time]),
            "promotion_code": codes_to_strings(
                (promo_code or "",), np.where(promo[by_time], 0, -1)
            ),
        },
        extra={"_pos": pa.array(np.arange(len(by_time), dtype=np.float64))},
    )

    line_order = (
        both("line_order")
        if rtx is None
        else np.concatenate([sales.line_order, rtx.line_order + n_sale])
    )
    line_pos = position[line_order]
    line_number = both("line_number")
    sort = np.lexsort((line_number, line_pos))
    quantity = both("quantity")[sort]
    lines = contract_table(
        contracts["order_lines"],
        {
            "order_id": ids.take(pa.array(line_pos[sort])),
            "line_number": line_number[sort].astype(np.int32),
            "product_id": product_ids.take(pa.array(both("product")[sort])),
            "line_type": codes_to_strings(("sale", "return"), (quantity < 0).astype(np.int64)),
            "quantity": quantity.astype(np.int32),
            "unit_price": money(both("price")[sort]),
            "discount_amount": money(both("discount")[sort]),
        },
        extra={"_pos": pa.array(line_pos[sort].astype(np.float64))},
    )
    return OrderDay(orders, lines, ids.take(pa.array(position[:n_sale])))


def inventory_table(
    contract: Contract,
    day: dt.date,
    day_index: int,
    inventory: Inventory,
    received: np.ndarray,
    stores: Stores,
    catalog: Catalog,
) -> pa.Table:
    """End-of-day stock of every location live on the day (sorted by store, then product)."""
    live = np.flatnonzero(inventory.live_from <= day_index)
    return contract_table(
        contract,
        {
            "snapshot_date": pa.array([day] * len(live), pa.date32()),
            "store_id": stores.ids.take(pa.array(inventory.loc_store[live])),
            "product_id": catalog.columns["product_id"].take(pa.array(inventory.loc_product[live])),
            "quantity_on_hand": inventory.on_hand[live].astype(np.int32),
            "quantity_received": received[live].astype(np.int32),
            "quantity_on_order": inventory.on_order[live].astype(np.int32),
        },
    )


def product_table(
    contract: Contract,
    catalog: Catalog,
    idx: np.ndarray,
    price: np.ndarray,
    cost: np.ndarray,
    active: np.ndarray,
) -> pa.Table:
    """Product versions `idx` with their current price, cost and status."""
    take = pa.array(idx, pa.int64())
    static = {name: col.take(take) for name, col in catalog.columns.items()}
    return contract_table(
        contract,
        static
        | {
            "unit_price": money(price[idx]),
            "unit_cost": money(cost[idx]),
            "is_active": pa.array(active[idx]),
        },
    )


def customer_table(
    contract: Contract,
    customers: Customers,
    idx: np.ndarray,
    street: pa.Array | None,
    city: pa.Array | None,
) -> pa.Table:
    """Customer versions; the last len(street) rows are movers with their new address."""
    take = pa.array(idx, pa.int64())
    columns = {name: col.take(take) for name, col in customers.columns.items()}
    if street is not None and city is not None:
        keep = pa.array(np.arange(len(idx) - len(street)), pa.int64())
        columns["street_address"] = pa.concat_arrays([columns["street_address"].take(keep), street])
        columns["city"] = pa.concat_arrays([columns["city"].take(keep), city])
    return contract_table(contract, columns)


def store_table(contract: Contract, stores: Stores, idx: np.ndarray) -> pa.Table:
    """Store rows `idx`."""
    take = pa.array(idx, pa.int64())
    return contract_table(contract, {name: col.take(take) for name, col in stores.columns.items()})
