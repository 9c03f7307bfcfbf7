{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='week_start_date') }}

with order_lines as (
    select * from {{ ref('fct_order_lines') }}
    -- whole ISO weeks around the window: a daily run recomputes its week from all its days
    where {{ partition_filter('order_date', align='week') }}
        and not is_cancelled_order
),

products as (
    select * from {{ ref('dim_products') }}
    where is_current
),

product_sales as (
    select
        {{ trunc_date('week', 'order_date') }} as week_start_date,
        product_id,
        {{ money('sum(net_amount)') }} as net_revenue,
        {{ as_count('sum(case when not is_return_line then quantity else 0 end)') }} as units_sold,
        {{ as_count('sum(case when is_return_line then -quantity else 0 end)') }} as units_returned
    from order_lines
    group by {{ trunc_date('week', 'order_date') }}, product_id
),

ranked as (
    select
        *,
        cast(row_number() over (
            partition by week_start_date order by net_revenue desc, product_id
        ) as integer) as revenue_rank
    from product_sales
)

select
    ranked.week_start_date,
    ranked.revenue_rank,
    ranked.product_id,
    products.product_name,
    products.category,
    ranked.net_revenue,
    ranked.units_sold,
    ranked.units_returned
from ranked
left join products
    on ranked.product_id = products.product_id
where ranked.revenue_rank <= 20
