"""One day of sale transactions: orders, their lines, and the stock they are allowed to take.

Demand beyond the stock on hand is lost (never sold), so a product with nothing on the shelf
sells nothing that day. Earlier orders get the stock first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datatrendz_pipelines.demo.calendar import ONLINE, STORE, Calendar
from datatrendz_pipelines.demo.catalog import Stores
from datatrendz_pipelines.demo.demand import (
    LINES_P,
    QTY_P,
    CustomerPicker,
    DemandModel,
    TimeSampler,
    segment_pick,
)
from datatrendz_pipelines.demo.inventory import Inventory

PAYMENTS = ("card", "cash", "paypal", "gift_card")
_PAYMENT_P = np.array([[0.70, 0.22, 0.0, 0.08], [0.70, 0.0, 0.25, 0.05]])
ANONYMOUS_SHARE = 0.35  # till purchases without a loyalty card
CANCEL_RATE = 0.03  # web orders cancelled before shipping
_PROMO_TAKE_UP = np.array([0.30, 0.45])  # orders using the running promotion, per channel


@dataclass(frozen=True)
class Transactions:
    """Orders sorted by time and their lines sorted by order, then line number."""

    seconds: np.ndarray
    store: np.ndarray
    customer: np.ndarray  # -1 = anonymous
    cancelled: np.ndarray
    payment: np.ndarray  # index into PAYMENTS
    promo: np.ndarray  # bool: the day's promotion code applies
    line_order: np.ndarray  # index into the orders
    line_number: np.ndarray
    loc: np.ndarray  # inventory location
    product: np.ndarray
    quantity: np.ndarray
    price: np.ndarray  # cents per unit
    discount: np.ndarray  # cents on the line


def _cdf(p: np.ndarray) -> np.ndarray:
    """Cumulative probabilities along the last axis, ending at exactly 1 (no draw falls off)."""
    cdf = np.cumsum(p, axis=-1)
    cdf[..., -1] = 1.0
    return cdf


def simulate_sales(
    rng: np.random.Generator,
    day: int,
    calendar: Calendar,
    stores: Stores,
    model: DemandModel,
    inventory: Inventory,
    loc_cum: np.ndarray,
    picker: CustomerPicker,
    times: TimeSampler,
    price: np.ndarray,
) -> Transactions:
    """Draw the day's orders and lines, keep what the stock allows, price and discount them."""
    n_orders = rng.poisson(model.expected_orders(calendar, day))
    store = np.repeat(np.arange(stores.count), n_orders)
    online = store == stores.online
    seconds = np.empty(len(store), dtype=np.int64)
    seconds[online] = times.draw(rng, int(online.sum()), ONLINE)
    seconds[~online] = times.draw(
        rng,
        int((~online).sum()),
        STORE,
        int(calendar.open_hour[day]),
        int(calendar.close_hour[day]),
    )
    order = np.argsort(seconds, kind="stable")
    store, online, seconds = store[order], online[order], seconds[order]
    channel = online.astype(np.int64)

    # Lines: 1-6 per order; a product at most once per order; popular products more often.
    n_lines = (rng.random(len(store))[:, None] > _cdf(LINES_P)[channel]).sum(axis=1) + 1
    line_order = np.repeat(np.arange(len(store)), n_lines)
    loc = segment_pick(loc_cum, inventory.bounds, store[line_order], rng.random(len(line_order)))
    _, first = np.unique(line_order * inventory.size + loc, return_index=True)
    first = np.sort(first[loc[first] >= 0])
    line_order, loc = line_order[first], loc[first]
    quantity = np.searchsorted(_cdf(QTY_P), rng.random(len(loc)), side="right") + 1
    cancelled = online & (rng.random(len(store)) < CANCEL_RATE)

    # Stock check in time order within each location: the running demand may not exceed stock.
    by_loc = np.argsort(loc, kind="stable")
    running = np.cumsum(quantity[by_loc])
    loc_sorted = loc[by_loc]
    starts = np.flatnonzero(np.r_[True, loc_sorted[1:] != loc_sorted[:-1]])
    before = np.repeat(
        running[starts] - quantity[by_loc][starts], np.diff(np.r_[starts, len(by_loc)])
    )
    keep = np.empty(len(loc), dtype=bool)
    keep[by_loc] = running - before <= inventory.on_hand[loc_sorted]
    line_order, loc, quantity = line_order[keep], loc[keep], quantity[keep]

    # Orders that kept no line are lost sales: drop them and renumber what is left.
    has_lines = np.bincount(line_order, minlength=len(store)) > 0
    new_index = np.cumsum(has_lines) - 1
    line_order = new_index[line_order]
    store, online, seconds, cancelled, channel = (
        a[has_lines] for a in (store, online, seconds, cancelled, channel)
    )
    starts = np.flatnonzero(np.r_[True, line_order[1:] != line_order[:-1]])
    line_number = (
        np.arange(len(line_order)) - np.repeat(starts, np.diff(np.r_[starts, len(line_order)])) + 1
    )

    customer = np.empty(len(store), dtype=np.int64)
    customer[online] = picker.online(rng.random(int(online.sum())))
    region = stores.region[store[~online]]
    known = picker.in_region(region, rng.random(len(region)))
    customer[~online] = np.where(rng.random(len(region)) < ANONYMOUS_SHARE, -1, known)
    payment = (rng.random(len(store))[:, None] > _cdf(_PAYMENT_P)[channel]).sum(axis=1)
    promotion = calendar.promotion_on(day)
    promo = np.zeros(len(store), dtype=bool)
    if promotion is not None:
        promo = rng.random(len(store)) < _PROMO_TAKE_UP[channel]
    product = inventory.loc_product[loc]
    unit_price = price[product]
    rate = promotion.discount if promotion is not None else 0.0
    discount = np.where(promo[line_order], np.round(unit_price * quantity * rate), 0).astype(
        np.int64
    )
    return Transactions(
        seconds,
        store,
        customer,
        cancelled,
        payment,
        promo,
        line_order,
        line_number,
        loc,
        product,
        quantity,
        unit_price,
        discount,
    )
