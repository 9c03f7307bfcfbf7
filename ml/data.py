"""Build the `history` frame of a forecasting task from the DuckDB warehouse.

Tasks (grain: one row per series x day, every day from the series' first sale to the last
day in `kpi.kpi_daily_sales`, missing days filled with y = 0):
- `revenue`: y = net_revenue per `<store_id>|<channel>`, plus the business total `total`;
- `demand`: y = units_sold per `<store_id>|<category>`.
`is_holiday` comes from `core.dim_date`; `promo_share` is the share of completed sale orders
(`core.fct_orders`, not cancelled) with a promotion code that day, over the series' store and
channel (revenue), store (demand) or the whole business (total).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_TASKS = {
    # task: (series key columns, measure, promo key columns)
    "revenue": (("store_id", "channel"), "net_revenue", ("store_id", "channel")),
    "demand": (("store_id", "category"), "units_sold", ("store_id",)),
}


def _series_sql(keys: tuple[str, ...], measure: str, promo_keys: tuple[str, ...]) -> str:
    key_expr = " || '|' || ".join(f"cast({k} as varchar)" for k in keys)
    key_cols = ", ".join(keys)
    promo_join = " and ".join(f"p.{k} = g.{k}" for k in promo_keys)
    return f"""
    sales as (
        select sales_date, {key_cols}, sum({measure}) as y
        from kpi.kpi_daily_sales
        where sales_date between $start and $end
        group by all
    ),
    promo as (
        select order_date, {", ".join(promo_keys)},
            avg(case when has_promotion then 1.0 else 0.0 end) as promo_share
        from core.fct_orders
        where order_type = 'sale' and not is_cancelled and order_date between $start and $end
        group by all
    ),
    series as (
        select {key_cols}, min(sales_date) as first_date from sales group by all
    ),
    grid as (
        select s.*, d.date_day, d.is_holiday
        from series as s
        join core.dim_date as d
            on d.date_day between s.first_date and (select max(sales_date) from sales)
    ),
    per_series as (
        select {key_expr.replace("cast(", "cast(g.")} as series_id, g.date_day as date,
            coalesce(s.y, 0) as y, g.is_holiday, coalesce(p.promo_share, 0) as promo_share
        from grid as g
        left join sales as s
            on s.sales_date = g.date_day and {" and ".join(f"s.{k} = g.{k}" for k in keys)}
        left join promo as p on p.order_date = g.date_day and {promo_join}
    )"""


def history_sql(task: str) -> str:
    """The DuckDB query for `task` (parameters $start and $end, inclusive dates)."""
    keys, measure, promo_keys = _TASKS[task]
    sql = "with " + _series_sql(keys, measure, promo_keys).strip()
    if task == "revenue":
        sql += """,
    total as (
        select 'total' as series_id, g.date_day as date, coalesce(sum(s.y), 0) as y,
            g.is_holiday, coalesce(max(p.promo_share), 0) as promo_share
        from core.dim_date as g
        left join sales as s on s.sales_date = g.date_day
        left join (
            select order_date, avg(case when has_promotion then 1.0 else 0.0 end) as promo_share
            from core.fct_orders
            where order_type = 'sale' and not is_cancelled
                and order_date between $start and $end
            group by order_date
        ) as p on p.order_date = g.date_day
        where g.date_day between (select min(sales_date) from sales)
            and (select max(sales_date) from sales)
        group by g.date_day, g.is_holiday
    )
select * from per_series union all select * from total"""
    else:
        sql += "\nselect * from per_series"
    return sql + "\norder by series_id, date"


def load_history(
    conn: Any, task: str, start: str | None = None, end: str | None = None
) -> pd.DataFrame:
    """History frame [series_id, date, y, is_holiday, promo_share] of `task` from `conn`."""
    if task not in _TASKS:
        raise ValueError(f"unknown task {task!r}; expected one of {sorted(_TASKS)}")
    params = {"start": start or "1900-01-01", "end": end or "2999-12-31"}
    frame = conn.execute(history_sql(task), params).df()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["y"] = frame["y"].astype(float)
    frame["is_holiday"] = frame["is_holiday"].fillna(False).astype(bool)
    return frame
