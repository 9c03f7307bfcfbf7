{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date') }}

with orders as (
    select * from {{ ref('stg_orders') }}
),

-- The persisted lines of the window: the enriched view would be computed again per reader.
order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
),

line_totals as (
    select
        order_id,
        {{ as_count('count(*)') }} as line_count,
        {{ as_count('sum(quantity)') }} as units,
        {{ money('sum(gross_amount)') }} as gross_amount,
        {{ money('sum(discount_amount)') }} as discount_amount,
        {{ money('sum(net_amount)') }} as net_amount,
        {{ money('sum(cost_amount)') }} as cost_amount,
        {{ money('sum(margin_amount)') }} as margin_amount
    from order_lines
    group by order_id
)

select
    orders.order_id,
    orders.order_date,
    orders.ordered_at,
    orders.store_id,
    orders.channel,
    orders.customer_id,
    orders.order_type,
    orders.order_status,
    orders.order_status = 'cancelled' as is_cancelled,
    orders.order_type = 'return' as is_return,
    orders.order_type = 'sale' and orders.order_status = 'completed' as is_completed_sale,
    orders.original_order_id,
    orders.payment_method,
    orders.promotion_code,
    orders.promotion_code is not null as has_promotion,
    coalesce(line_totals.line_count, 0) as line_count,
    coalesce(line_totals.units, 0) as units,
    coalesce(line_totals.gross_amount, 0) as gross_amount,
    coalesce(line_totals.discount_amount, 0) as discount_amount,
    coalesce(line_totals.net_amount, 0) as net_amount,
    coalesce(line_totals.cost_amount, 0) as cost_amount,
    coalesce(line_totals.margin_amount, 0) as margin_amount
from orders
left join line_totals
    on orders.order_id = line_totals.order_id
-- Stored in date order: DuckDB then skips the other days' row groups when a day is read (the
-- daily models and the windowed tests), instead of scanning the whole history.
order by orders.order_date
