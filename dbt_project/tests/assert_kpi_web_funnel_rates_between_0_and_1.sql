-- Funnel rates are shares (0..1) and each funnel step holds no more sessions than the visits.
select *
from {{ ref('kpi_web_funnel_daily') }}
where {{ partition_filter('session_date') }}
    and (
    product_view_rate not between 0 and 1
    or add_to_cart_rate not between 0 and 1
    or checkout_rate not between 0 and 1
    or conversion_rate not between 0 and 1
    or cart_abandonment_rate not between 0 and 1
    or product_view_sessions > sessions
    or add_to_cart_sessions > sessions
    or checkout_sessions > sessions
    or order_sessions > sessions
    or abandoned_cart_sessions > add_to_cart_sessions
    )
