"""Customers (sign-ups, lifetimes, purchase rates, fake PII) and the paid marketing behind them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrendz_pipelines.demo import names
from datatrendz_pipelines.demo.calendar import ONLINE, STORE, Calendar
from datatrendz_pipelines.demo.columns import (
    codes_to_strings,
    dates,
    epoch_day,
    join,
    money,
    numbered,
)

ACQUISITION = ("organic", "paid_search", "social", "email", "display", "affiliate", "store")
PAID = ACQUISITION[1:6]
_SHARE = np.array([0.30, 0.16, 0.12, 0.07, 0.06, 0.08, 0.21])
# Per paid channel: spend per acquired customer (blended: retargeting included), cost per
# 1000 impressions (cents), click rate.
_CAC = np.array([9000, 11000, 2500, 16000, 7000])
_CPM = np.array([900, 650, 50, 250, 400])
_CTR = np.array([0.035, 0.012, 0.025, 0.0015, 0.010])
_SIGNUPS_PER_BASE_CUSTOMER = 0.0015  # new customers a day per customer of the starting base


@dataclass(frozen=True)
class Customers:
    """All customers of the period in id order (the base first, then sign-ups by day)."""

    columns: dict[str, pa.Array]  # contract columns, first version of every customer
    signup_day: np.ndarray
    churn_day: np.ndarray  # first day the customer no longer buys
    rate: np.ndarray  # relative purchase frequency (heavy-tailed: a few loyal repeat buyers)
    online_pref: np.ndarray  # share of the customer's purchases made online
    region: np.ndarray
    change_day: np.ndarray  # address changes, sorted by day
    change_customer: np.ndarray
    change_street: pa.Array
    change_city: pa.Array

    @property
    def count(self) -> int:
        return len(self.signup_day)


@dataclass(frozen=True)
class Marketing:
    """Per day x paid channel (PAID order): spend in cents, impressions, clicks, new customers."""

    spend: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray
    new_customers: np.ndarray


def build_customers(
    n_base: int, calendar: Calendar, store_regions: np.ndarray, rng: np.random.Generator
) -> tuple[Customers, Marketing]:
    """The customer base at the start, daily sign-ups per channel and the spend that bought them."""
    days = calendar.days
    daily = n_base * _SIGNUPS_PER_BASE_CUSTOMER
    around_promo = np.convolve(calendar.promo >= 0, np.ones(4), mode="full")[3 : 3 + days] > 0
    # Paid spend follows online demand and is pushed up around promotions; it buys sign-ups.
    planned = (
        daily
        * _SHARE[1:6]
        * calendar.demand[:, [ONLINE]]
        * np.where(around_promo, 1.3, 1.0)[:, None]
    )
    spend = np.round(planned * _CAC * rng.lognormal(0, 0.08, planned.shape)).astype(np.int64)
    paid_signups = rng.poisson(spend / _CAC)
    impressions = np.round(spend / _CPM * 1000 * rng.lognormal(0, 0.05, spend.shape)).astype(
        np.int64
    )
    clicks = np.maximum(rng.binomial(impressions, _CTR), paid_signups)
    organic = rng.poisson(daily * _SHARE[0] * calendar.demand[:, ONLINE])
    in_store = rng.poisson(daily * _SHARE[6] * calendar.demand[:, STORE])
    per_day = np.column_stack([organic, paid_signups, in_store])  # channel order = ACQUISITION
    new_day = np.repeat(np.tile(np.arange(days), 7), per_day.T.ravel())
    new_channel = np.repeat(np.repeat(np.arange(7), days), per_day.T.ravel())
    order = np.argsort(new_day, kind="stable")
    base_day = -np.sort(rng.integers(1, 1100, n_base))[::-1]
    signup_day = np.concatenate([base_day, new_day[order]])
    channel = np.concatenate([rng.choice(7, n_base, p=_SHARE), new_channel[order]])
    n = len(signup_day)
    churn_day = signup_day + np.ceil(rng.exponential(900, n)).astype(np.int64)
    rate = np.minimum(rng.lognormal(0, 0.9, n), 6.0)  # loyal regulars, but nobody buys daily
    in_store_pref = rng.beta(1.2, 5, n)
    online_pref = np.where(channel == 6, in_store_pref, rng.beta(3, 2, n))
    region_weight = 1 + 2 * np.bincount(
        store_regions[store_regions >= 0], minlength=len(names.REGIONS)
    )
    region = rng.choice(len(names.REGIONS), n, p=region_weight / region_weight.sum())
    columns = _pii(rng, n, region)
    columns |= {
        "customer_id": numbered("C", np.arange(1, n + 1), 7),
        "region": codes_to_strings(names.REGIONS, region),
        "signup_date": dates(signup_day + epoch_day(calendar.dates[0])),
        "acquisition_channel": codes_to_strings(ACQUISITION, channel),
    }
    changes = _address_changes(rng, signup_day, region, days)
    customers = Customers(columns, signup_day, churn_day, rate, online_pref, region, *changes)
    marketing = Marketing(spend, impressions, clicks, paid_signups)
    return customers, marketing


def _streets(rng: np.random.Generator, n: int) -> pa.Array:
    number = pa.array(rng.integers(1, 240, n)).cast(pa.string())
    street = codes_to_strings(names.STREETS, rng.integers(0, len(names.STREETS), n))
    kind = codes_to_strings(names.STREET_KINDS, rng.integers(0, len(names.STREET_KINDS), n))
    return join(number, " ", street, " ", kind)


def _cities(rng: np.random.Generator, region: np.ndarray) -> pa.Array:
    flat = [c for r in names.REGIONS for c in names.CITIES[r]]
    return codes_to_strings(flat, region * 5 + rng.integers(0, 5, len(region)))


def _pii(rng: np.random.Generator, n: int, region: np.ndarray) -> dict[str, pa.Array]:
    """Fake but well-formed names, e-mails (example domains), phones and addresses."""
    first = codes_to_strings(names.FIRST_NAMES, rng.integers(0, len(names.FIRST_NAMES), n))
    last = codes_to_strings(names.LAST_NAMES, rng.integers(0, len(names.LAST_NAMES), n))
    domain = codes_to_strings(names.EMAIL_DOMAINS, rng.integers(0, len(names.EMAIL_DOMAINS), n))
    suffix = pa.array(rng.integers(1, 10_000, n)).cast(pa.string())
    email = join(pc.utf8_lower(first), ".", pc.utf8_lower(last), suffix, "@", domain)
    phone = join(
        "+44 7",
        numbered("", rng.integers(0, 1000, n), 3),
        " ",
        numbered("", rng.integers(0, 1_000_000, n), 6),
    )
    return {
        "first_name": first,
        "last_name": last,
        "email": email,
        "phone": phone,
        "street_address": _streets(rng, n),
        "city": _cities(rng, region),
    }


def _address_changes(
    rng: np.random.Generator, signup_day: np.ndarray, region: np.ndarray, days: int
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array]:
    """A few customers a day move house (within their region); never on their sign-up day."""
    total = rng.poisson(len(signup_day) * 0.0003 * max(days - 1, 0))
    day = np.sort(rng.integers(1, max(days, 2), total))
    earlier = np.searchsorted(signup_day, day)  # customers signed up before that day
    customer = np.floor(rng.random(total) * earlier).astype(np.int64)
    keep = earlier > 0
    key = day[keep] * (len(signup_day) + 1) + customer[keep]
    _, first = np.unique(key, return_index=True)
    day, customer = day[keep][first], customer[keep][first]
    return day, customer, _streets(rng, len(day)), _cities(rng, region[customer])


def customer_change_rows(
    customers: Customers, day: int
) -> tuple[np.ndarray, pa.Array | None, pa.Array | None]:
    """Customers (ids as indices) to deliver on a day, with replaced street/city for movers.

    Day 0 delivers the whole base plus that day's sign-ups; later days the sign-ups and movers.
    """
    lo = 0 if day == 0 else np.searchsorted(customers.signup_day, day)
    hi = np.searchsorted(customers.signup_day, day + 1)
    new = np.arange(lo, hi)
    a, b = np.searchsorted(customers.change_day, [day, day + 1])
    if a == b:
        return new, None, None
    movers = customers.change_customer[a:b]
    return np.concatenate([new, movers]), customers.change_street[a:b], customers.change_city[a:b]


def marketing_day(marketing: Marketing, day: int, start: dt.date) -> dict[str, object]:
    """Contract columns of one day's marketing_spend rows (one per paid channel)."""
    return {
        "spend_date": pa.array([start + dt.timedelta(days=day)] * len(PAID), pa.date32()),
        "channel": pa.array(PAID),
        "spend": money(marketing.spend[day]),
        "impressions": marketing.impressions[day],
        "clicks": marketing.clicks[day],
        "new_customers": marketing.new_customers[day].astype(np.int32),
    }
