{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='sales_date') }}

with order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
        and not is_cancelled_order
),

aggregated as (
    select
        order_date as sales_date,
        store_id,
        channel,
        coalesce(category, 'unknown') as category,
        {{ money('sum(case when not is_return_line then gross_amount else 0 end)') }} as gross_revenue,
        {{ money('sum(case when not is_return_line then discount_amount else 0 end)') }} as discounts,
        {{ money('sum(case when is_return_line then -net_amount else 0 end)') }} as returns_value,
        {{ money('sum(net_amount)') }} as net_revenue,
        {{ money('sum(case when not is_return_line then net_amount else 0 end)') }} as sales_revenue,
        {{ as_count('count(distinct case when not is_return_line then order_id end)') }} as orders,
        {{ as_count('sum(case when not is_return_line then quantity else 0 end)') }} as units_sold,
        {{ as_count('sum(case when is_return_line then -quantity else 0 end)') }} as units_returned,
        {{ money('sum(cost_amount)') }} as cost_of_goods,
        {{ money('sum(margin_amount)') }} as gross_margin
    from order_lines
    group by order_date, store_id, channel, coalesce(category, 'unknown')
)

select
    sales_date,
    store_id,
    channel,
    category,
    gross_revenue,
    discounts,
    returns_value,
    net_revenue,
    orders,
    units_sold,
    units_returned,
    {{ safe_divide('sales_revenue', 'orders', 2) }} as average_order_value,
    {{ safe_divide('units_sold', 'orders') }} as units_per_order,
    cost_of_goods,
    gross_margin,
    {{ safe_divide('gross_margin', 'net_revenue') }} as gross_margin_rate,
    {{ safe_divide('units_returned', 'units_sold') }} as return_rate
from aggregated
