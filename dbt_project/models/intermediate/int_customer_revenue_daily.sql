-- Net revenue of identified customers per day (all non-cancelled orders, returns included):
-- a small daily series that lets kpi_customers_daily compute lifetime value to date without
-- reading every order of the history.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='order_date') }}

-- The persisted lines of the window: the enriched view would be computed again per reader.
with order_lines as (
    select * from {{ ref('fct_order_lines') }}
    where {{ partition_filter('order_date') }}
)

select
    order_date,
    {{ money('sum(net_amount)') }} as customer_net_revenue
from order_lines
where customer_id is not null
    and not is_cancelled_order
group by order_date
