-- Order totals in fct_orders add up to their lines in fct_order_lines, day by day.
with orders as (
    select order_date, sum(net_amount) as net_amount, sum(line_count) as line_count
    from {{ ref('fct_orders') }}
    where {{ partition_filter('order_date') }}
    group by order_date
),

lines as (
    select order_date, sum(net_amount) as net_amount, count(*) as line_count
    from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
    group by order_date
)

select orders.order_date
from orders
full outer join lines
    on orders.order_date = lines.order_date
where orders.order_date is null
    or lines.order_date is null
    or orders.net_amount <> lines.net_amount
    or orders.line_count <> lines.line_count
