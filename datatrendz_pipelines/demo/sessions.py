"""Web sessions: every web order comes from exactly one session; most visits drop out earlier.

Conversion differs by device and traffic source (desktop and e-mail convert best, display and
social worst), so converting and non-converting sessions are drawn from different mixes; the
non-converting ones fall out of the funnel at views, cart or checkout. Overall ~6% convert.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from datatrendz_pipelines.demo.calendar import ONLINE
from datatrendz_pipelines.demo.columns import codes_to_strings, join, numbered, timestamps
from datatrendz_pipelines.demo.demand import CustomerPicker, TimeSampler

DEVICES = ("desktop", "mobile", "tablet")
SOURCES = (
    "organic",
    "paid_search",
    "social",
    "email",
    "display",
    "affiliate",
    "direct",
    "referral",
)
_DEVICE_P = np.array([0.34, 0.58, 0.08])
_DEVICE_CONV = np.array([0.085, 0.045, 0.06])
_SOURCE_P = np.array([0.30, 0.16, 0.12, 0.08, 0.04, 0.07, 0.18, 0.05])
_SOURCE_CONV = np.array([1.0, 1.1, 0.5, 1.6, 0.4, 1.0, 1.2, 0.9])
_BOUNCE = np.array([0.30, 0.45, 0.35])  # visits that view no product, per device
_CART = np.array([0.28, 0.16, 0.22])  # viewers who add to cart, per device
_CHECKOUT = 0.35  # carts that open the checkout (and then abandon it)
_LOGGED_IN = 0.30

_JOINT = (_DEVICE_P[:, None] * _SOURCE_P[None, :]).ravel()
_CONV = (_DEVICE_CONV[:, None] * _SOURCE_CONV[None, :]).ravel()
CONVERSION = float(_JOINT @ _CONV)


@dataclass(frozen=True)
class SessionDay:
    """A day's web sessions and which of them are bots."""

    columns: dict[str, pa.Array]  # contract columns, sorted by started_at
    bot: np.ndarray  # bool per row: injected bot traffic (the traffic spike)


def _mix(rng: np.random.Generator, n: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cell = np.searchsorted(np.cumsum(weights / weights.sum()), rng.random(n), side="right")
    cell = np.minimum(cell, len(weights) - 1)
    return cell // len(SOURCES), cell % len(SOURCES)


def simulate_sessions(
    rng: np.random.Generator,
    day: dt.date,
    expected_orders: float,
    order_seconds: np.ndarray,
    order_customer: np.ndarray,
    order_lines: np.ndarray,
    order_ids: pa.Array,
    picker: CustomerPicker,
    customer_ids: pa.Array,
    times: TimeSampler,
    bot_factor: float = 0.0,
) -> SessionDay:
    """Sessions of one day: one converting session per web order, the rest of the traffic, bots."""
    n_conv = len(order_seconds)
    n_rest = int(rng.poisson(expected_orders * (1 - CONVERSION) / CONVERSION))
    n_bot = round(bot_factor * (n_conv + n_rest))
    dev_c, src_c = _mix(rng, n_conv, _JOINT * _CONV)
    dev_r, src_r = _mix(rng, n_rest, _JOINT * (1 - _CONV))

    # Converting: shortly before the order, views and cart adds cover at least its lines.
    lead = np.minimum(30 + rng.gamma(2.0, 300.0, n_conv).astype(np.int64), order_seconds)
    conv_views = order_lines + rng.poisson(3, n_conv)
    conv_cart = order_lines + rng.binomial(1, 0.2, n_conv)

    # The rest: bounce, view, maybe cart, maybe checkout, never an order.
    viewed = rng.random(n_rest) >= _BOUNCE[dev_r]
    views = np.where(viewed, rng.geometric(0.25, n_rest), 0)
    carted = viewed & (rng.random(n_rest) < _CART[dev_r] * np.sqrt(_SOURCE_CONV[src_r]))
    cart = np.where(carted, rng.geometric(0.6, n_rest), 0)
    checkout = carted & (rng.random(n_rest) < _CHECKOUT)
    logged_in = rng.random(n_rest) < _LOGGED_IN
    rest_customer = np.where(logged_in, picker.online(rng.random(n_rest)), -1)

    # Bots: a burst from one desktop crawler, many views, nothing bought.
    burst = int(rng.integers(0, 18 * 3600))
    bot_seconds = burst + rng.integers(0, 6 * 3600, n_bot)

    seconds = np.concatenate([order_seconds - lead, times.draw(rng, n_rest, ONLINE), bot_seconds])
    device = np.concatenate([dev_c, dev_r, np.zeros(n_bot, dtype=np.int64)])
    source = np.concatenate([src_c, src_r, np.where(rng.random(n_bot) < 0.85, 6, 7)])
    customer = np.concatenate([order_customer, rest_customer, np.full(n_bot, -1)])
    product_views = np.concatenate([conv_views, views, rng.integers(1, 41, n_bot)])
    add_to_cart = np.concatenate([conv_cart, cart, np.zeros(n_bot, dtype=np.int64)])
    reached = np.concatenate([np.ones(n_conv, dtype=bool), checkout, np.zeros(n_bot, dtype=bool)])
    order_ref = np.concatenate([np.arange(n_conv), np.full(n_rest + n_bot, -1)])
    bot = np.concatenate([np.zeros(n_conv + n_rest, dtype=bool), np.ones(n_bot, dtype=bool)])

    by_time = np.argsort(seconds, kind="stable")
    stamp = day.strftime("%Y%m%d")
    columns = {
        "session_id": join(f"WS-{stamp}-", numbered("", np.arange(1, len(by_time) + 1), 7)),
        "started_at": timestamps(day, seconds[by_time]),
        "customer_id": codes_to_strings(customer_ids, customer[by_time]),
        "traffic_source": codes_to_strings(SOURCES, source[by_time]),
        "device": codes_to_strings(DEVICES, device[by_time]),
        "product_views": pa.array(product_views[by_time].astype(np.int32)),
        "add_to_cart_events": pa.array(add_to_cart[by_time].astype(np.int32)),
        "reached_checkout": pa.array(reached[by_time]),
        "order_id": codes_to_strings(order_ids, order_ref[by_time]),
    }
    return SessionDay(columns, bot[by_time])
