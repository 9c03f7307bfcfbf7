"""Applying the fault plan to a day's orders and order_lines tables, recording each injection.

Tables carry a `_pos` helper column (position of the order in the day) so injected rows can
be slotted in next to the row they copy; the writer drops it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datatrendz_pipelines.demo.faults import (
    LINE_FAULTS,
    FaultPlan,
    break_lines,
    fault_count,
    malformed_timestamps,
)
from datatrendz_pipelines.demo.manifest import Injected


def _np(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).to_numpy()


def _line_keys(lines: pa.Table) -> list[list]:
    return [
        list(k)
        for k in zip(
            lines.column("order_id").to_pylist(),
            lines.column("line_number").to_pylist(),
            strict=True,
        )
    ]


def _completed_sales(orders: pa.Table) -> np.ndarray:
    sale = pc.and_(
        pc.equal(orders.column("order_type"), "sale"),
        pc.equal(orders.column("status"), "completed"),
    )
    return sale.to_numpy(zero_copy_only=False)


def inject_row_faults(
    rng: np.random.Generator,
    plan: FaultPlan,
    day: int,
    date: str,
    orders: pa.Table,
    lines: pa.Table,
    files: dict[str, str],
    unknown_from: int,
) -> tuple[pa.Table, pa.Table, list[Injected]]:
    """Add broken copies of completed sale rows: line faults to order_lines, malformed dates to orders."""
    records: list[Injected] = []
    completed = _completed_sales(orders)
    pos = _np(lines, "_pos").astype(np.int64)
    line_no = _np(lines, "line_number").astype(np.int64)
    eligible = np.flatnonzero(completed[pos] & (_np(lines, "quantity") > 0))
    next_line = np.zeros(orders.num_rows, dtype=np.int64)
    np.maximum.at(next_line, pos, line_no)
    eligible_orders, first_line = np.unique(pos[eligible], return_index=True)
    extras = []
    for kind in LINE_FAULTS:
        n = min(fault_count(rng, plan, kind, day, lines.num_rows), len(eligible))
        if n == 0:
            continue
        if kind == "duplicated_line":
            template = lines.take(pa.array(np.sort(rng.choice(eligible, n, replace=False))))
            numbers = _np(template, "line_number")
        else:
            n = min(n, len(eligible_orders))
            chosen = np.sort(rng.choice(len(eligible_orders), n, replace=False))
            order_pos = eligible_orders[chosen]
            template = lines.take(pa.array(eligible[first_line[chosen]]))
            next_line[order_pos] += 1
            numbers = next_line[order_pos]
        broken, column, values = break_lines(rng, kind, template, numbers, unknown_from)
        unknown_from += n if kind == "unknown_product" else 0
        extras.append(broken)
        records.append(
            Injected(
                kind,
                "order_lines",
                date,
                files["order_lines"],
                n,
                _line_keys(broken),
                column,
                values,
            )
        )
    if extras:
        lines = pa.concat_tables([lines, *extras]).sort_by(
            [("_pos", "ascending"), ("line_number", "ascending")]
        )

    n = fault_count(rng, plan, "malformed_date", day, orders.num_rows)
    in_shop = completed & pc.equal(orders.column("channel"), "store").to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(in_shop if in_shop.any() else completed)
    n = min(n, len(candidates))
    if n:
        chosen = np.sort(rng.choice(candidates, n, replace=False))
        raw = malformed_timestamps(rng, date, n)
        template = orders.take(pa.array(chosen))
        prefix = pc.utf8_slice_codeunits(template.column("order_id"), 0, 11)
        seq = pc.utf8_lpad(pa.array(orders.num_rows + 1 + np.arange(n)).cast(pa.string()), 6, "0")
        new_ids = pc.binary_join_element_wise(prefix, seq, "")
        template = template.set_column(0, "order_id", new_ids)
        template = _set(template, "ordered_at", pa.array(raw))
        template = _set(template, "_pos", pa.array(chosen + 0.5))
        as_text = _set(orders, "ordered_at", orders.column("ordered_at").cast(pa.string()))
        orders = pa.concat_tables([as_text, template]).sort_by("_pos")
        records.append(
            Injected(
                "malformed_date",
                "orders",
                date,
                files["orders"],
                n,
                new_ids.to_pylist(),
                "ordered_at",
                raw,
            )
        )
    return orders, lines, records


def _set(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def cut_short(
    orders: pa.Table,
    lines: pa.Table,
    sessions: dict[str, pa.Array],
    share: float,
    date: str,
    files: dict[str, str],
) -> tuple[pa.Table, pa.Table, list[Injected]]:
    """An export that stopped early: only the first `share` of the day's orders and their lines.

    One record per file, keys = the rows missing. The web sessions of the lost web orders still
    name them (the web analytics export is whole): `detail.orphaned_web_sessions` lists them.
    """
    keep = max(1, int(orders.num_rows * share))
    cut_at = orders.column("ordered_at")[min(keep, orders.num_rows - 1)].as_py()
    lost_orders = orders.slice(keep)
    line_kept = pc.less(lines.column("_pos"), keep)
    lost_lines = lines.filter(pc.invert(line_kept))
    kept_lines = lines.filter(line_kept)
    lost_ids = lost_orders.column("order_id").combine_chunks()
    orphans = sessions["session_id"].filter(pc.is_in(sessions["order_id"], lost_ids)).to_pylist()
    detail = {"cut_at": str(cut_at), "orphaned_web_sessions": orphans}
    records = [
        Injected("volume_drop", "orders", date, files["orders"], lost_orders.num_rows,
                 lost_ids.to_pylist(),
                 detail={"expected_rows": orders.num_rows, "delivered_rows": keep, **detail}),
        Injected("volume_drop", "order_lines", date, files["order_lines"], lost_lines.num_rows,
                 _line_keys(lost_lines),
                 detail={"expected_rows": lines.num_rows, "delivered_rows": kept_lines.num_rows, **detail}),
    ]  # fmt: skip
    return orders.slice(0, keep), kept_lines, records


def revenue_drop_record(
    orders: pa.Table, store_id: str, factor: float, date: str, files: dict[str, str]
) -> Injected:
    """The shop's sale orders on its bad day (keys), which sold ~factor of normal."""
    mask = pc.and_(
        pc.equal(orders.column("store_id"), store_id), pc.equal(orders.column("order_type"), "sale")
    )
    keys = orders.column("order_id").filter(mask).to_pylist()
    detail = {"store_id": store_id, "factor": factor}
    return Injected("revenue_drop", "orders", date, files["orders"], len(keys), keys, "store_id",
                    [store_id] * len(keys), detail)  # fmt: skip


def traffic_spike_record(
    sessions: pa.Table, bot: np.ndarray, factor: float, date: str, files: dict[str, str]
) -> Injected:
    """The bot sessions (keys) that multiplied the day's traffic by ~factor without buying."""
    keys = sessions.column("session_id").filter(pa.array(bot)).to_pylist()
    detail = {"normal_sessions": sessions.num_rows - len(keys), "factor": factor}
    return Injected("traffic_spike", "web_sessions", date, files["web_sessions"], len(keys), keys,
                    detail=detail)  # fmt: skip


def split_late(
    lines: pa.Table,
    orders: pa.Table,
    share: float,
    date: str,
    landing_file: str,
    held_back_path: str,
) -> tuple[pa.Table, pa.Table, Injected]:
    """The lines of the day's last `share` of orders (an evening batch) arrive in a later file."""
    first_late = int(orders.num_rows * (1 - share))
    late_mask = pc.greater_equal(lines.column("_pos"), first_late)
    late = lines.filter(late_mask)
    on_time = lines.filter(pc.invert(late_mask))
    record = Injected(
        "late_file",
        "order_lines",
        date,
        landing_file,
        late.num_rows,
        _line_keys(late),
        detail={"held_back_path": held_back_path, "on_time_rows": on_time.num_rows},
    )
    return on_time, late, record
