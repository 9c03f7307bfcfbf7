"""Returns: part of each day's sold lines comes back a few days later as a return transaction.

A return is its own transaction in the store of the sale (the web shop's warehouse for web
orders), by the same customer, naming the sale in `original_order_id`; its lines give back
(negative quantity) some or all units of products from that sale, and go back on the shelf.
Apparel and footwear come back most, and web orders more than till purchases.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datatrendz_pipelines.demo import names
from datatrendz_pipelines.demo.calendar import STORE, Calendar
from datatrendz_pipelines.demo.demand import TimeSampler
from datatrendz_pipelines.demo.sales import Transactions

_CHANNEL_FACTOR = np.array([0.7, 1.4])
_RETURN_RATE = np.array([names.RETURN_RATE[c] for c in names.CATEGORIES])


@dataclass(frozen=True)
class Returns:
    """A day's return transactions and the sale each one reverses."""

    tx: Transactions  # quantities negative
    original_id: pa.Array  # per return order


class ReturnBook:
    """Returns decided at sale time, waiting for their day."""

    def __init__(self, calendar: Calendar, category: np.ndarray, online_store: int) -> None:
        self.calendar = calendar
        self.category = category
        self.online_store = online_store
        self._pending: dict[int, list[tuple[dict[str, np.ndarray], pa.Array]]] = defaultdict(list)

    def schedule(
        self, rng: np.random.Generator, day: int, tx: Transactions, order_ids: pa.Array
    ) -> int:
        """Decide which of the day's completed sale lines come back, and when; return the count."""
        online = (tx.store == self.online_store).astype(np.int64)
        p = _RETURN_RATE[self.category[tx.product]] * _CHANNEL_FACTOR[online[tx.line_order]]
        returned = ~tx.cancelled[tx.line_order] & (rng.random(len(tx.product)) < p)
        due = day + np.minimum(1 + rng.geometric(0.22, len(tx.store)), 28)
        last = self.calendar.days - 1
        for _ in range(3):  # a shop's return waits for the shop to open
            due += (online == 0) & (due <= last) & ~self.calendar.stores_open[np.minimum(due, last)]
        line_due = due[tx.line_order]
        idx = np.flatnonzero(returned & (line_due <= last))
        qty = tx.quantity[idx]
        back = np.where(rng.random(len(idx)) < 0.8, qty, rng.integers(1, qty + 1))
        order = tx.line_order[idx]
        chunk = {
            "key": day * 10_000_000 + order,
            "loc": tx.loc[idx],
            "product": tx.product[idx],
            "quantity": back,
            "price": tx.price[idx],
            "discount": np.round(tx.discount[idx] * back / qty).astype(np.int64),
            "store": tx.store[order],
            "customer": tx.customer[order],
            "payment": tx.payment[order],
        }
        ids = order_ids.take(pa.array(order))
        for d in np.unique(line_due[idx]):
            mask = line_due[idx] == d
            self._pending[int(d)].append(
                ({k: v[mask] for k, v in chunk.items()}, ids.filter(pa.array(mask)))
            )
        return len(idx)

    def due(self, rng: np.random.Generator, day: int, times: TimeSampler) -> Returns | None:
        """The return transactions of a day (one per original sale, sorted by time), or None."""
        chunks = self._pending.pop(day, [])
        if not chunks:
            return None
        lines = {k: np.concatenate([c[k] for c, _ in chunks]) for k in chunks[0][0]}
        ids = pa.concat_arrays([i for _, i in chunks])
        keys, first, group = np.unique(lines["key"], return_index=True, return_inverse=True)
        store = lines["store"][first]
        online = store == self.online_store
        seconds = np.empty(len(keys), dtype=np.int64)
        seconds[online] = times.draw(rng, int(online.sum()), STORE, 8, 18)  # warehouse hours
        seconds[~online] = times.draw(
            rng,
            int((~online).sum()),
            STORE,
            int(self.calendar.open_hour[day]),
            int(self.calendar.close_hour[day]),
        )
        by_time = np.argsort(seconds, kind="stable")
        rank = np.empty_like(by_time)
        rank[by_time] = np.arange(len(by_time))
        line_order = rank[group]
        line_sort = np.argsort(line_order, kind="stable")
        line_order = line_order[line_sort]
        starts = np.flatnonzero(np.r_[True, line_order[1:] != line_order[:-1]])
        line_number = (
            np.arange(len(line_order))
            - np.repeat(starts, np.diff(np.r_[starts, len(line_order)]))
            + 1
        )
        pick = first[by_time]
        tx = Transactions(
            seconds=seconds[by_time],
            store=store[by_time],
            customer=lines["customer"][pick],
            cancelled=np.zeros(len(keys), dtype=bool),
            payment=lines["payment"][pick],
            promo=np.zeros(len(keys), dtype=bool),
            line_order=line_order,
            line_number=line_number,
            loc=lines["loc"][line_sort],
            product=lines["product"][line_sort],
            quantity=-lines["quantity"][line_sort],
            price=lines["price"][line_sort],
            discount=lines["discount"][line_sort],
        )
        return Returns(tx, ids.take(pa.array(pick)))
