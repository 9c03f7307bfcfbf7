{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date') }}

with order_lines as (
    select * from {{ ref('int_order_lines_enriched') }}
)

select
    order_line_id,
    order_id,
    line_number,
    order_date,
    ordered_at,
    store_id,
    channel,
    customer_id,
    order_type,
    order_status,
    is_cancelled_order,
    product_id,
    product_version_id,
    category,
    line_type,
    is_return_line,
    quantity,
    unit_price,
    discount_amount,
    unit_cost,
    gross_amount,
    net_amount,
    cost_amount,
    margin_amount
from order_lines
-- Stored in date order: DuckDB then skips the other days' row groups when a day is read (the
-- daily models and the windowed tests), instead of scanning the whole history.
order by order_date
