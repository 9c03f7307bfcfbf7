{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='session_date') }}

with sessions as (
    select * from {{ ref('fct_web_sessions') }}
    where {{ partition_filter('session_date') }}
),

aggregated as (
    select
        session_date,
        traffic_source,
        device,
        {{ as_count('count(*)') }} as sessions,
        {{ as_count('sum(case when has_product_view then 1 else 0 end)') }} as product_view_sessions,
        {{ as_count('sum(case when has_added_to_cart then 1 else 0 end)') }} as add_to_cart_sessions,
        {{ as_count('sum(case when has_reached_checkout then 1 else 0 end)') }} as checkout_sessions,
        {{ as_count('sum(case when has_order then 1 else 0 end)') }} as order_sessions,
        {{ as_count('sum(case when has_added_to_cart and not has_order then 1 else 0 end)') }} as abandoned_cart_sessions
    from sessions
    group by session_date, traffic_source, device
)

select
    session_date,
    traffic_source,
    device,
    sessions,
    product_view_sessions,
    add_to_cart_sessions,
    checkout_sessions,
    order_sessions,
    abandoned_cart_sessions,
    {{ safe_divide('product_view_sessions', 'sessions') }} as product_view_rate,
    {{ safe_divide('add_to_cart_sessions', 'sessions') }} as add_to_cart_rate,
    {{ safe_divide('checkout_sessions', 'sessions') }} as checkout_rate,
    {{ safe_divide('order_sessions', 'sessions') }} as conversion_rate,
    {{ safe_divide('abandoned_cart_sessions', 'add_to_cart_sessions') }} as cart_abandonment_rate
from aggregated
