"""Stores and products: who sells, what is sold, and how the catalog changes over the period.

Day numbers are relative to config.start (negative = before the period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datatrendz_pipelines.demo import names
from datatrendz_pipelines.demo.columns import codes_to_strings, dates, epoch_day, join, numbered
from datatrendz_pipelines.demo.config import Scale

WEB_STORE_ID = "WEB"
LAUNCH, PRICE_CHANGE, DISCONTINUE = 0, 1, 2


@dataclass(frozen=True)
class Stores:
    """Physical shops first, the web shop last (index `online`)."""

    columns: dict[str, pa.Array]  # contract columns, one row per store
    region: np.ndarray  # index into names.REGIONS; -1 for the web shop
    open_day: np.ndarray
    weight: np.ndarray  # share of the channel's demand

    @property
    def count(self) -> int:
        return len(self.open_day)

    @property
    def online(self) -> int:
        return self.count - 1

    @property
    def ids(self) -> pa.Array:
        return self.columns["store_id"]


@dataclass(frozen=True)
class Catalog:
    """Products with their initial values and the dated change events of the period."""

    columns: dict[
        str, pa.Array
    ]  # static contract columns (id, sku, name, category, brand, launched)
    category: np.ndarray  # index into names.CATEGORIES
    brand: np.ndarray  # index into brand_names
    brand_names: tuple[str, ...]
    launch_day: np.ndarray
    popularity: np.ndarray
    price: np.ndarray  # initial price, cents
    cost: np.ndarray  # initial cost, cents
    event_day: np.ndarray  # sorted; LAUNCH events are implied by launch_day
    event_product: np.ndarray
    event_kind: np.ndarray
    event_price: np.ndarray
    event_cost: np.ndarray

    @property
    def count(self) -> int:
        return len(self.launch_day)

    def apply_events(
        self, day: int, price: np.ndarray, cost: np.ndarray, active: np.ndarray
    ) -> np.ndarray:
        """Apply a day's price changes and discontinuations to the state arrays (in place);
        return the products changed."""
        lo, hi = np.searchsorted(self.event_day, [day, day + 1])
        product, kind = self.event_product[lo:hi], self.event_kind[lo:hi]
        repriced = kind == PRICE_CHANGE
        price[product[repriced]] = self.event_price[lo:hi][repriced]
        cost[product[repriced]] = self.event_cost[lo:hi][repriced]
        active[product[kind == DISCONTINUE]] = False
        return product


def build_stores(scale: Scale, start: dt.date, days: int, rng: np.random.Generator) -> Stores:
    """The shops (one opens mid-period when the period is long enough) and the web shop."""
    n = scale.physical_stores
    region = np.arange(n) % len(names.REGIONS)
    city = np.array(
        [names.CITIES[names.REGIONS[r]][i // len(names.REGIONS) % 5] for i, r in enumerate(region)]
    )
    size = (rng.integers(35, 250, n) * 10).astype(np.int64)
    open_day = -rng.integers(300, 3650, n)
    if days >= 28 and n >= 2:
        open_day[-1] = days // 2 + int(rng.integers(-days // 8, days // 8 + 1))
    web_open = -int(rng.integers(1500, 3000))
    store_ids = [f"S{i + 1:02d}" for i in range(n)] + [WEB_STORE_ID]
    start_epoch = epoch_day(start)
    columns = {
        "store_id": pa.array(store_ids),
        "store_name": pa.array([f"DataTrendz {c}" for c in city] + ["DataTrendz Online"]),
        "channel": pa.array(["store"] * n + ["online"]),
        "region": pa.array([names.REGIONS[r] for r in region] + [names.WEB_REGION]),
        "city": pa.array([*city.tolist(), None], pa.string()),
        "opened_date": dates(np.append(open_day, web_open) + start_epoch),
        "closed_date": pa.nulls(n + 1, pa.date32()),
        "square_meters": pa.array([*size.tolist(), None], pa.int32()),
    }
    weight = np.sqrt(size.astype(float))
    return Stores(
        columns,
        np.append(region, -1),
        np.append(open_day, web_open),
        np.append(weight / weight.sum(), 1.0),
    )


def _round_price(raw: np.ndarray) -> np.ndarray:
    """Shelf prices in cents that end in .99 (or .49 under 5)."""
    whole = np.maximum(np.round(raw), 1).astype(np.int64)
    return np.where(raw < 5, np.round(raw * 2) * 50 - 1, whole * 100 - 1).astype(np.int64)


def build_catalog(scale: Scale, start: dt.date, days: int, rng: np.random.Generator) -> Catalog:
    """The catalog at the start plus launches, price changes and discontinuations in the period."""
    categories = list(names.CATEGORIES)
    n_base = scale.products
    n_launch = round(n_base * 0.10 * days / 365) + (1 if days >= 14 else 0)
    n = n_base + n_launch
    share = np.array([names.CATEGORY_SHARE[c] for c in categories])
    category = rng.choice(len(categories), n, p=share)
    brand_names = tuple(sorted({b for c in categories for b in names.CATEGORIES[c][0]}))
    brand_index = {b: i for i, b in enumerate(brand_names)}
    brand = np.empty(n, dtype=np.int64)
    item = np.empty(n, dtype=object)
    low, high = np.empty(n), np.empty(n)
    for ci, cat in enumerate(categories):  # per category, vectorised inside
        brands, items, (lo, hi) = names.CATEGORIES[cat]
        mask = category == ci
        brand[mask] = np.array([brand_index[b] for b in brands])[
            rng.integers(0, len(brands), mask.sum())
        ]
        item[mask] = rng.choice(items, mask.sum())
        low[mask], high[mask] = lo, hi
    # Log-uniform list prices within the category's range; costs give a 30-60% margin.
    price = _round_price(np.exp(rng.uniform(np.log(low), np.log(high))))
    cost = np.round(price * rng.uniform(0.40, 0.70, n)).astype(np.int64)
    launch_day = np.concatenate(
        [-rng.integers(1, 1500, n_base), np.sort(rng.integers(1, max(days, 2), n_launch))]
    )
    rank = rng.permutation(n)
    popularity = 1.0 / (rank + 5.0) ** 0.9 * np.where(launch_day > 0, 1.5, 1.0)
    ids = numbered("P", np.arange(1, n + 1), 5)
    cat_codes = np.array([c[:3].upper() for c in categories])[category]
    brand_arr = np.array(brand_names)
    brand_codes = np.array([b.replace(" ", "")[:3].upper() for b in brand_names])[brand]
    adjective = rng.choice(names.ADJECTIVES, n)
    colour = rng.choice(names.COLOURS, n)
    columns = {
        "product_id": ids,
        "sku": join(
            pa.array(cat_codes),
            "-",
            pa.array(brand_codes),
            "-",
            numbered("", np.arange(1, n + 1), 5),
        ),
        "product_name": join(
            pa.array(brand_arr[brand]),
            " ",
            pa.array(adjective),
            " ",
            pa.array(item.astype(str)),
            " - ",
            pa.array(colour),
        ),
        "category": codes_to_strings(categories, category),
        "brand": codes_to_strings(brand_names, brand),
        "launched_date": dates(launch_day + epoch_day(start)),
    }
    events = _change_events(rng, launch_day, price, cost, days)
    return Catalog(
        columns, category, brand, brand_names, launch_day, popularity, price, cost, *events
    )


def _change_events(
    rng: np.random.Generator, launch_day: np.ndarray, price: np.ndarray, cost: np.ndarray, days: int
) -> tuple[np.ndarray, ...]:
    """A few price changes (~2% of products a month) and discontinuations (~0.5% a month)."""
    n = len(launch_day)
    n_price = rng.poisson(n * 0.02 * days / 30)
    n_disc = rng.poisson(n * 0.005 * days / 30)
    p_prod = rng.integers(0, n, n_price)
    p_day = rng.integers(1, max(days, 2), n_price)
    base = np.flatnonzero(launch_day <= 0)
    d_prod = rng.choice(base, min(n_disc, len(base) // 4), replace=False)
    d_day = rng.integers(1, max(days, 2), len(d_prod))
    # A price change happens after launch and before a discontinuation of the same product.
    stop = np.full(n, np.iinfo(np.int64).max)
    stop[d_prod] = d_day
    keep = (p_day > launch_day[p_prod]) & (p_day < stop[p_prod])
    p_prod, p_day = p_prod[keep], p_day[keep]
    factor = rng.uniform(0.85, 1.12, len(p_prod))
    new_cost = np.round(
        cost[p_prod]
        * np.where(rng.random(len(p_prod)) < 0.5, rng.uniform(0.97, 1.08, len(p_prod)), 1.0)
    )
    new_price = _round_price(price[p_prod] * factor / 100)
    new_price = np.clip(new_price, np.ceil(new_cost / 0.7), np.floor(new_cost / 0.4)).astype(
        np.int64
    )
    day = np.concatenate([p_day, d_day])
    prod = np.concatenate([p_prod, d_prod])
    kind = np.concatenate([np.full(len(p_day), PRICE_CHANGE), np.full(len(d_day), DISCONTINUE)])
    ev_price = np.concatenate([new_price, np.zeros(len(d_day), np.int64)])
    ev_cost = np.concatenate([new_cost.astype(np.int64), np.zeros(len(d_day), np.int64)])
    # One event per product per day (the first wins); sorted by day, then product.
    order = np.lexsort((kind, prod, day))
    day, prod, kind, ev_price, ev_cost = (
        day[order],
        prod[order],
        kind[order],
        ev_price[order],
        ev_cost[order],
    )
    first = np.ones(len(day), dtype=bool)
    first[1:] = (day[1:] != day[:-1]) | (prod[1:] != prod[:-1])
    return day[first], prod[first], kind[first], ev_price[first], ev_cost[first]
