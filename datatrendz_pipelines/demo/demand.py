"""How much each store sells and to whom: order rates calibrated to the target, and samplers.

The samplers draw many values at once from per-segment cumulative weights: a segment is a
store's locations (products) or a region's customers, so one `searchsorted` serves all stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from datatrendz_pipelines.demo.calendar import ONLINE, STORE, Calendar, minute_weights
from datatrendz_pipelines.demo.catalog import Stores
from datatrendz_pipelines.demo.people import Customers

LINES_P = np.array([[0.42, 0.26, 0.15, 0.09, 0.05, 0.03], [0.35, 0.27, 0.17, 0.11, 0.06, 0.04]])
QTY_P = np.array([0.80, 0.13, 0.05, 0.02])
ONLINE_SHARE = 0.38  # share of sale orders placed in the web shop
# Calibration: return lines per sale line, and sale lines lost to stock-outs and duplicates.
RETURN_LINES, LOST_LINES = 0.075, 0.015


@dataclass(frozen=True)
class DemandModel:
    """Expected sale orders a day per store = base_orders x calendar multiplier x opening."""

    base_orders: np.ndarray
    channel: np.ndarray  # STORE or ONLINE per store
    open_day: np.ndarray
    store_factor: dict[int, tuple[int, float]] = field(
        default_factory=dict
    )  # day -> (store, factor)

    def expected_orders(self, calendar: Calendar, day: int) -> np.ndarray:
        """Expected sale orders of the day per store (0 for a shop not open yet or closed)."""
        mult = calendar.demand[day, self.channel] * (self.open_day <= day)
        if day in self.store_factor:
            store, factor = self.store_factor[day]
            mult[store] *= factor
        return self.base_orders * mult


def build_demand(
    target_lines: float,
    calendar: Calendar,
    stores: Stores,
    store_factor: dict[int, tuple[int, float]],
) -> DemandModel:
    """Scale per-store order rates so the period's sale and return lines meet the target."""
    channel = np.where(np.arange(stores.count) == stores.online, ONLINE, STORE)
    share = np.where(channel == ONLINE, ONLINE_SHARE, (1 - ONLINE_SHARE) * stores.weight)
    days = np.arange(calendar.days)[:, None]
    mult = calendar.demand[:, channel] * (stores.open_day[None, :] <= days)
    mean_lines = LINES_P @ np.arange(1, 7)
    lines_per_unit_rate = (share * mean_lines[channel] * mult.sum(axis=0)).sum()
    sale_lines = target_lines / (1 + RETURN_LINES) / (1 - LOST_LINES)
    return DemandModel(
        sale_lines / lines_per_unit_rate * share, channel, stores.open_day, store_factor
    )


def segment_pick(
    cum: np.ndarray, bounds: np.ndarray, segment: np.ndarray, u: np.ndarray
) -> np.ndarray:
    """Index drawn within segment `bounds[s]:bounds[s+1]` proportionally to the weights whose
    running sum is `cum`; -1 where the segment has no weight."""
    padded = np.concatenate([[0.0], cum])
    lo, hi = padded[bounds[segment]], padded[bounds[segment + 1]]
    target = lo + u * (hi - lo)
    order = np.argsort(target)  # sorted look-ups walk the (large) array in order: cache-friendly
    index = np.empty(len(target), dtype=np.int64)
    index[order] = np.searchsorted(cum, target[order], side="right")
    index = np.clip(index, bounds[segment], bounds[segment + 1] - 1)
    return np.where(hi > lo, index, -1)


class CustomerPicker:
    """Draws known customers for a day's orders: active (signed up, not churned) customers,
    weighted by their purchase rate, new ones a little more; shops draw from their region."""

    def __init__(self, customers: Customers, n_regions: int) -> None:
        c = customers  # ids are in sign-up order, so "signed up by day d" is a prefix
        self.signup, self.churn = c.signup_day, c.churn_day
        self.rate_online = c.rate * c.online_pref
        self.by_region = np.argsort(c.region, kind="stable")
        self.rank = np.empty(c.count, dtype=np.int64)
        self.rank[self.by_region] = np.arange(c.count)
        self.rate_store = (c.rate * (1 - c.online_pref))[self.by_region]
        self.signup_store, self.churn_store = (
            c.signup_day[self.by_region],
            c.churn_day[self.by_region],
        )
        counts = np.bincount(c.region, minlength=n_regions)
        self.region_bounds = np.concatenate([[0], np.cumsum(counts)])

    def prepare(self, day: int) -> None:
        """Weights of the day: signed up and not churned; x4 in the first week after sign-up."""
        signed = int(np.searchsorted(self.signup, day, side="right"))
        new = np.arange(np.searchsorted(self.signup, day - 6), signed)
        online = self.rate_online[:signed] * (self.churn[:signed] > day)
        online[new] *= 4.0
        self.online_cum = np.cumsum(online)
        store = self.rate_store * ((self.churn_store > day) & (self.signup_store <= day))
        store[self.rank[new]] *= 4.0
        self.store_cum = np.cumsum(store)

    def online(self, u: np.ndarray) -> np.ndarray:
        """Web customers for uniform draws `u` (-1 when nobody is active)."""
        bounds = np.array([0, len(self.online_cum)])
        return segment_pick(self.online_cum, bounds, np.zeros(len(u), dtype=np.int64), u)

    def in_region(self, region: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Shop customers living in each order's region (-1 when none is active there)."""
        index = segment_pick(self.store_cum, self.region_bounds, region, u)
        return np.where(index >= 0, self.by_region[np.maximum(index, 0)], -1)


class TimeSampler:
    """Seconds since midnight for transactions, from a minute-of-day profile per channel/hours."""

    def __init__(self) -> None:
        self._cdf: dict[tuple[int, int, int], np.ndarray] = {}

    def draw(
        self,
        rng: np.random.Generator,
        n: int,
        channel: int,
        open_hour: int = 0,
        close_hour: int = 24,
    ) -> np.ndarray:
        key = (channel, open_hour, close_hour)
        if key not in self._cdf:
            w = minute_weights(channel, open_hour, close_hour)
            self._cdf[key] = np.cumsum(w) / w.sum()
        minute = np.minimum(np.searchsorted(self._cdf[key], rng.random(n), side="right"), 1439)
        return minute * 60 + rng.integers(0, 60, n)


def expected_units(
    model: DemandModel,
    calendar: Calendar,
    day: int,
    loc_store: np.ndarray,
    loc_weight: np.ndarray,
    bounds: np.ndarray,
) -> np.ndarray:
    """Expected units a day per location over the coming four weeks (the replenishment forecast)."""
    window = calendar.demand[day : day + 28]
    orders = model.base_orders * window.mean(axis=0)[model.channel]
    mean_lines = (LINES_P @ np.arange(1, 7))[model.channel]
    totals = np.add.reduceat(loc_weight, bounds[:-1]) if len(loc_weight) else np.zeros(0)
    share = loc_weight / np.maximum(totals[loc_store], 1e-12)
    return (orders * mean_lines)[loc_store] * share * (QTY_P @ np.arange(1, 5))
