-- Net revenue in kpi_daily_sales equals the net amount of non-cancelled lines in fct_order_lines,
-- day by day (and units sold / returned likewise).
with kpi as (
    select
        sales_date,
        sum(net_revenue) as net_revenue,
        sum(units_sold) as units_sold,
        sum(units_returned) as units_returned
    from {{ ref('kpi_daily_sales') }}
    where {{ partition_filter('sales_date') }}
    group by sales_date
),

lines as (
    select
        order_date,
        sum(net_amount) as net_revenue,
        sum(case when not is_return_line then quantity else 0 end) as units_sold,
        sum(case when is_return_line then -quantity else 0 end) as units_returned
    from {{ ref('fct_order_lines') }}
    where not is_cancelled_order
        and {{ partition_filter('order_date') }}
    group by order_date
)

select
    coalesce(kpi.sales_date, lines.order_date) as sales_date,
    kpi.net_revenue as kpi_net_revenue,
    lines.net_revenue as lines_net_revenue
from kpi
full outer join lines
    on kpi.sales_date = lines.order_date
where kpi.net_revenue is null
    or lines.net_revenue is null
    or kpi.net_revenue <> lines.net_revenue
    or kpi.units_sold <> lines.units_sold
    or kpi.units_returned <> lines.units_returned
