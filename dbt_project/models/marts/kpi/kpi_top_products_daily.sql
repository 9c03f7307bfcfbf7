{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='sales_date') }}

with order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
        and not is_cancelled_order
),

products as (
    select * from {{ ref('dim_products') }}
    where is_current
),

product_sales as (
    select
        order_date as sales_date,
        product_id,
        {{ money('sum(net_amount)') }} as net_revenue,
        {{ as_count('sum(case when not is_return_line then quantity else 0 end)') }} as units_sold,
        {{ as_count('sum(case when is_return_line then -quantity else 0 end)') }} as units_returned
    from order_lines
    group by order_date, product_id
),

ranked as (
    select
        *,
        cast(row_number() over (
            partition by sales_date order by net_revenue desc, product_id
        ) as integer) as revenue_rank
    from product_sales
)

select
    ranked.sales_date,
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
