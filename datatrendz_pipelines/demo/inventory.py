"""Stock per stocked (store, product) location, replenished by a reorder-point policy.

Each day: `receive` (supplier deliveries in the morning), sales and returns move stock through
`move`, then `replenish` orders up to the target level with a lead time. Supply disruptions hold
back a brand's deliveries for a couple of weeks, which empties shelves for real.
Identity per location: on_hand[t] = on_hand[t-1] - sold[t] + returned[t] + received[t].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datatrendz_pipelines.demo.catalog import Catalog, Stores

_RING = 64  # days of the delivery schedule kept (longer than any lead time plus disruption)


@dataclass(frozen=True)
class Disruption:
    """A supplier outage: no delivery of `products` arrives from `start` until `end`."""

    brand: str
    products: np.ndarray
    start: int  # first day no delivery arrives
    end: int  # day deliveries resume (held-back deliveries all arrive then)


class Inventory:
    """Locations are sorted by store, then product; `bounds[s]:bounds[s+1]` are store s's."""

    def __init__(
        self,
        stores: Stores,
        catalog: Catalog,
        assortment: float,
        days: int,
        rng: np.random.Generator,
    ) -> None:
        n_products = catalog.count
        keep = max(1, round(assortment * n_products))
        stocked = []
        for s in range(stores.count):  # per store: its assortment, favouring popular products
            if s == stores.online:
                stocked.append(np.arange(n_products))
                continue
            score = np.log(catalog.popularity) + rng.gumbel(0, 1.0, n_products)
            stocked.append(np.sort(np.argsort(-score)[:keep]))
        self.loc_store = np.repeat(np.arange(stores.count), [len(x) for x in stocked])
        self.loc_product = np.concatenate(stocked)
        self.bounds = np.concatenate([[0], np.cumsum([len(x) for x in stocked])])
        self.size = len(self.loc_product)
        self.live_from = np.maximum(
            stores.open_day[self.loc_store], catalog.launch_day[self.loc_product]
        )
        store_lead = np.where(
            np.arange(stores.count) == stores.online, 4, rng.integers(2, 5, stores.count)
        )
        self.lead = store_lead[self.loc_store]
        self.physical = self.loc_store != stores.online
        self.on_hand = np.zeros(self.size, dtype=np.int64)
        self.on_order = np.zeros(self.size, dtype=np.int64)
        self.reorder_point = np.ones(self.size, dtype=np.int64)
        self.order_up_to = np.full(self.size, 3, dtype=np.int64)
        self._ring = np.zeros((_RING, self.size), dtype=np.int64)
        self._n_products = n_products
        self.disruptions = _plan_disruptions(catalog, days, rng)

    def loc_index(self, store: np.ndarray, product: np.ndarray) -> np.ndarray:
        """Location of (store, product) pairs that are stocked (caller guarantees it)."""
        key = self.loc_store * self._n_products + self.loc_product
        return np.searchsorted(key, store * self._n_products + product)

    def update_policy(self, expected_daily_units: np.ndarray) -> None:
        """Reorder point covers lead time plus a day with safety stock; order up to a week more."""
        cover = expected_daily_units * (self.lead + 1)
        self.reorder_point = np.ceil(cover + 1.3 * np.sqrt(cover)).astype(np.int64)
        self.order_up_to = self.reorder_point + np.maximum(
            np.ceil(expected_daily_units * 7), 2
        ).astype(np.int64)

    def open_stock(self, rng: np.random.Generator) -> None:
        """Stock on hand before the first day, for locations live by then."""
        live = self.live_from < 0  # a location going live on day 0 gets its stock in receive()
        fill = np.round(self.order_up_to * rng.uniform(0.5, 1.0, self.size)).astype(np.int64)
        self.on_hand = np.where(live, fill, 0)

    def receive(self, day: int, stores_open: bool) -> np.ndarray:
        """Morning deliveries (held back by disruptions and closed shops); returns units received."""
        slot = day % _RING
        arriving = self._ring[slot].copy()
        self._ring[slot] = 0
        held = np.zeros(self.size, dtype=bool)
        for d in self.disruptions:
            if d.start <= day < d.end:
                blocked = np.isin(self.loc_product, d.products) & (arriving > 0)
                self._ring[d.end % _RING, blocked] += arriving[blocked]
                held |= blocked
        if not stores_open:  # shops closed: their deliveries come the next day
            blocked = self.physical & (arriving > 0) & ~held
            self._ring[(day + 1) % _RING, blocked] += arriving[blocked]
            held |= blocked
        arriving[held] = 0
        self.on_order -= arriving
        first = self.live_from == day  # a launch or an opening: first stock arrives that morning
        arriving[first] += self.order_up_to[first]
        self.on_hand += arriving
        return arriving

    def move(self, loc: np.ndarray, units: np.ndarray) -> None:
        """Add units (negative for sales) to locations."""
        self.on_hand += np.bincount(loc, weights=units, minlength=self.size).astype(np.int64)

    def replenish(self, day: int, product_active: np.ndarray) -> None:
        """Order up to target where the stock position fell to the reorder point."""
        position = self.on_hand + self.on_order
        need = (
            (self.live_from <= day)
            & product_active[self.loc_product]
            & (position <= self.reorder_point)
        )
        loc = np.flatnonzero(need)
        qty = self.order_up_to[loc] - position[loc]
        self._ring[(day + self.lead[loc]) % _RING, loc] += qty
        self.on_order[loc] += qty


def _plan_disruptions(
    catalog: Catalog, days: int, rng: np.random.Generator
) -> tuple[Disruption, ...]:
    """About one two-week supplier outage of a popular brand per four months (one from 3 weeks)."""
    if days < 21:
        return ()
    count = max(1, days // 120)
    brand_pop = np.bincount(
        catalog.brand, weights=catalog.popularity, minlength=len(catalog.brand_names)
    )
    brands = rng.choice(
        len(brand_pop), min(count, len(brand_pop)), replace=False, p=brand_pop / brand_pop.sum()
    )
    out = []
    for i, b in enumerate(brands):
        lo, hi = max(5, i * days // count + 3), max(6, (i + 1) * days // count - 16)
        start = int(rng.integers(lo, max(hi, lo + 1)))
        out.append(
            Disruption(
                catalog.brand_names[b],
                np.flatnonzero(catalog.brand == b),
                start,
                start + int(rng.integers(10, 19)),
            )
        )
    return tuple(out)
