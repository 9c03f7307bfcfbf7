{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='session_date') }}

with sessions as (
    select * from {{ ref('stg_web_sessions') }}
)

select
    session_id,
    session_date,
    started_at,
    customer_id,
    traffic_source,
    device,
    product_views,
    add_to_cart_events,
    product_views > 0 as has_product_view,
    add_to_cart_events > 0 as has_added_to_cart,
    has_reached_checkout,
    order_id,
    order_id is not null as has_order
from sessions
