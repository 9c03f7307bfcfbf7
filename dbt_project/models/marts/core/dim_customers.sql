-- Customer versions (SCD type 2) with the customer's order history to date (the same on every
-- version of a customer). Orders counted: completed sales; net revenue counts returns too.
-- A daily run rebuilds only the customers touched by the window: delivered, ordering, whose last
-- order fell in it (a corrected day may have removed it), or loaded since the table's latest
-- load; each from their whole history.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_id', on_schema_change='append_new_columns') }}

{%- set rebuild_touched_only = is_incremental() and has_window() %}
-- depends_on: {{ ref('stg_customers') }}

with
{%- if rebuild_touched_only %}
-- Distinct (union), so joining on it keeps each row once. A join rather than `in (...)`: DuckDB
-- then hashes these few thousand keys and streams the large tables past them, where the semi-join
-- hashed the touched customers' orders instead.
touched_customers as (
    select customer_id from {{ ref('stg_customers') }}
    where {{ partition_filter('delivered_date') }}
    union
    select customer_id from {{ ref('fct_orders') }}
    where {{ partition_filter('order_date') }}
        and customer_id is not null
    union
    select customer_id from {{ this }}
    where {{ partition_filter('last_order_date') }}
    union
    select customer_id from {{ ref('int_customer_versions') }}
    where last_loaded_at > (select max(source_loaded_at) from {{ this }})
),
{%- endif %}

customer_versions as (
    select versions.* from {{ ref('int_customer_versions') }} as versions
    {%- if rebuild_touched_only %}
    inner join touched_customers on versions.customer_id = touched_customers.customer_id
    {%- endif %}
),

orders as (
    select fct_orders.* from {{ ref('fct_orders') }} as fct_orders
    {%- if rebuild_touched_only %}
    -- The join drops orders without a customer; an `is not null` here would make DuckDB hash
    -- the orders side again.
    inner join touched_customers on fct_orders.customer_id = touched_customers.customer_id
    {%- else %}
    where fct_orders.customer_id is not null
    {%- endif %}
),

sales_ranked as (
    select
        customer_id,
        order_id,
        order_date,
        net_amount,
        row_number() over (partition by customer_id order by order_date, ordered_at, order_id) as order_rank
    from orders
    where is_completed_sale
),

order_history as (
    select
        customer_id,
        min(case when order_rank = 1 then order_id end) as first_order_id,
        min(case when order_rank = 1 then order_date end) as first_order_date,
        {{ money('sum(case when order_rank = 1 then net_amount else 0 end)') }} as first_order_net_revenue,
        min(case when order_rank = 2 then order_date end) as second_order_date,
        max(order_date) as last_order_date,
        {{ as_count('count(*)') }} as lifetime_orders
    from sales_ranked
    group by customer_id
),

lifetime_revenue as (
    select
        customer_id,
        {{ money('sum(net_amount)') }} as lifetime_net_revenue
    from orders
    where not is_cancelled
    group by customer_id
)

select
    customer_versions.customer_version_id,
    customer_versions.customer_id,
    customer_versions.first_name,
    customer_versions.last_name,
    customer_versions.email,
    customer_versions.phone,
    customer_versions.street_address,
    customer_versions.city,
    customer_versions.region,
    customer_versions.signup_date,
    customer_versions.acquisition_channel,
    customer_versions.version_number,
    customer_versions.valid_from,
    customer_versions.valid_to,
    customer_versions.is_current,
    customer_versions.last_loaded_at as source_loaded_at,
    order_history.first_order_id,
    order_history.first_order_date,
    order_history.first_order_net_revenue,
    order_history.second_order_date,
    order_history.last_order_date,
    coalesce(order_history.lifetime_orders, 0) as lifetime_orders,
    coalesce(lifetime_revenue.lifetime_net_revenue, 0) as lifetime_net_revenue,
    order_history.first_order_date is not null as has_ordered,
    {{ build_timestamp() }} as built_at
from customer_versions
left join order_history
    on customer_versions.customer_id = order_history.customer_id
left join lifetime_revenue
    on customer_versions.customer_id = lifetime_revenue.customer_id
