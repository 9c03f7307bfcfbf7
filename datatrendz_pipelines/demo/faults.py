"""Injected data faults: where they go (the plan) and how rows are broken (the injectors).

Row faults are *added* rows, copies of a genuine completed sale row broken in exactly one way,
so that quarantining them leaves the genuine data whole (rows in = loaded + quarantined, and the
stock still reconciles). They never touch returns. Day-level faults (volume drop, late file) land
on ordinary days after the first two weeks, KPI anomalies after the first five (so same-weekday
rules have history), each on its own day when possible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrendz_pipelines.demo.calendar import Calendar
from datatrendz_pipelines.demo.columns import money

LINE_FAULTS = (
    "null_key",
    "negative_price",
    "negative_quantity_not_return",
    "unknown_product",
    "duplicated_line",
)
HISTORY_DAYS = 14  # trailing history a detector needs before the first fault
# Same-weekday anomaly rules compare a day with its previous weekdays: four of them at least.
ANOMALY_HISTORY_DAYS = 35


@dataclass(frozen=True)
class FaultPlan:
    """Which days carry which faults and anomalies (day numbers from config.start)."""

    rate: float
    row_days: frozenset[int]  # days that may carry row faults
    guaranteed: dict[str, int]  # row fault kind -> a day with at least one
    volume_drop: int | None = None
    late_file: int | None = None
    traffic_spike: int | None = None
    revenue_drop: tuple[int, int] | None = None  # (day, physical store index)


def plan_faults(
    rate: float,
    anomalies: bool,
    calendar: Calendar,
    store_open_day: np.ndarray,
    online_store: int,
    rng: np.random.Generator,
) -> FaultPlan:
    """Pick the days: ordinary days (no holiday, shops open) after the history window first,
    then other days after it, then earlier days; day-level kinds get a day each while days last."""
    days = calendar.days
    first = HISTORY_DAYS if days >= HISTORY_DAYS + 7 else days // 2
    ordinary = [d for d in range(days) if d not in calendar.holidays and calendar.stores_open[d]]
    tiers = [
        [d for d in ordinary if d >= first],
        [d for d in range(first, days) if d not in ordinary],
        [d for d in range(first) if d in ordinary],
        [d for d in range(first) if d not in ordinary],
    ]
    candidates = [int(d) for tier in tiers for d in rng.permutation(tier)]
    wanted = (["volume_drop", "late_file"] if rate > 0 else []) + (
        ["traffic_spike", "revenue_drop"] if anomalies else []
    )
    chosen = {kind: candidates[i % len(candidates)] for i, kind in enumerate(wanted)}
    late_enough = [d for d in candidates if d >= ANOMALY_HISTORY_DAYS and d not in chosen.values()]
    for kind in ("traffic_spike", "revenue_drop"):
        if kind in chosen and late_enough:
            chosen[kind] = late_enough.pop(0)
    # Row faults spread over the ordinary days; short periods borrow a spare day, or share the
    # volume-drop day (cut first, then inject) rather than go without.
    day_level = {chosen.get("volume_drop"), chosen.get("late_file")}
    row_days = frozenset()
    if rate > 0:
        spare = [d for d in candidates if d not in day_level]
        row_days = frozenset(
            set(tiers[0]) - day_level or spare[:1] or set(candidates) - {chosen.get("late_file")}
        )
    ordered_row_days = sorted(row_days)
    guaranteed = (
        {kind: int(rng.choice(ordered_row_days)) for kind in (*LINE_FAULTS, "malformed_date")}
        if row_days
        else {}
    )
    revenue_drop = None
    if "revenue_drop" in chosen:
        day = chosen["revenue_drop"]
        shops = [
            s for s in range(len(store_open_day)) if s != online_store and store_open_day[s] <= day
        ]
        # A shop with weeks of history, so the drop stands out against its own weekdays.
        seasoned = [s for s in shops if store_open_day[s] <= day - ANOMALY_HISTORY_DAYS]
        revenue_drop = (day, int(rng.choice(seasoned or shops)))
    return FaultPlan(
        rate,
        row_days,
        guaranteed,
        chosen.get("volume_drop"),
        chosen.get("late_file"),
        chosen.get("traffic_spike"),
        revenue_drop,
    )


def fault_count(rng: np.random.Generator, plan: FaultPlan, kind: str, day: int, rows: int) -> int:
    """How many rows of a kind to inject into a day's file: the kinds of a source share its
    fault rate (order_lines' five kinds get rate/5 each), and each kind appears at least once."""
    if day not in plan.row_days or rows == 0:
        return 0
    n = int(rng.binomial(rows, plan.rate / (len(LINE_FAULTS) if kind in LINE_FAULTS else 1)))
    return max(n, 1) if plan.guaranteed.get(kind) == day else n


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def break_lines(
    rng: np.random.Generator,
    kind: str,
    template: pa.Table,
    line_number: np.ndarray,
    unknown_from: int,
) -> tuple[pa.Table, str | None, list]:
    """Copies of sale lines broken one way; returns (rows, column broken, raw values written)."""
    rows = (
        template
        if kind == "duplicated_line"
        else _set(template, "line_number", pa.array(line_number, pa.int32()))
    )
    n = rows.num_rows
    if kind == "duplicated_line":
        return rows, None, []
    rows = _set(rows, "discount_amount", money(np.zeros(n, dtype=np.int64)))
    if kind == "null_key":
        return _set(rows, "product_id", pa.nulls(n, pa.string())), "product_id", [None] * n
    if kind == "unknown_product":
        ids = pa.array([f"P{unknown_from + i:05d}" for i in range(n)])
        return _set(rows, "product_id", ids), "product_id", ids.to_pylist()
    if kind == "negative_price":
        price = pc.negate(rows.column("unit_price").combine_chunks())
        return _set(rows, "unit_price", price), "unit_price", [str(v) for v in price.to_pylist()]
    if kind == "negative_quantity_not_return":
        qty = pa.array(-rng.integers(1, 4, n).astype(np.int32))
        return _set(rows, "quantity", qty), "quantity", qty.to_pylist()
    raise ValueError(f"unknown line fault {kind!r}")


def malformed_timestamps(rng: np.random.Generator, day_iso: str, n: int) -> list[str]:
    """Timestamps no parser accepts: impossible times, day-first dates, 30 February."""
    y, m, d = day_iso.split("-")
    hour, minute = rng.integers(25, 30, n), rng.integers(60, 100, n)
    shapes = rng.integers(0, 3, n)
    return [
        f"{y}-{m}-{d} {h}:{mi}:00"
        if s == 0
        else f"{d}/{m}/{y}"
        if s == 1
        else f"{y}-02-30 10:{mi}:00"
        for s, h, mi in zip(shapes, hour, minute, strict=True)
    ]
