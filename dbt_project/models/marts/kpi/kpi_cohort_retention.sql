-- Keyed by activity month: a daily run recomputes its month and the months after it (a corrected
-- day can move a customer's first order, and so cohort sizes, from that month on). Cohort sizes
-- come from dim_customers' first order dates, one row per customer.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='activity_month') }}

{%- set start = window_start() %}
{%- set first_month = start[:8] ~ '01' if start else none %}

with customers as (
    select customer_id, first_order_date
    from {{ ref('dim_customers') }}
    where is_current
        and has_ordered
),

orders as (
    select customer_id, order_date
    from {{ ref('fct_orders') }}
    where is_completed_sale
        and customer_id is not null
        {%- if first_month %}
        and order_date >= {{ date_literal(first_month) }}
        {%- endif %}
),

cohorts as (
    select
        customer_id,
        {{ trunc_date('month', 'first_order_date') }} as cohort_month
    from customers
),

cohort_sizes as (
    select cohort_month, {{ as_count('count(*)') }} as cohort_customers
    from cohorts
    group by cohort_month
),

activity as (
    select distinct
        cohorts.cohort_month,
        {{ trunc_date('month', 'orders.order_date') }} as activity_month,
        cohorts.customer_id
    from orders
    inner join cohorts
        on orders.customer_id = cohorts.customer_id
),

aggregated as (
    select
        cohort_month,
        activity_month,
        {{ months_between('cohort_month', 'activity_month') }} as months_since_first_order,
        {{ as_count('count(*)') }} as active_customers
    from activity
    group by cohort_month, activity_month
)

select
    aggregated.cohort_month,
    aggregated.months_since_first_order,
    aggregated.activity_month,
    cohort_sizes.cohort_customers,
    aggregated.active_customers,
    {{ safe_divide('aggregated.active_customers', 'cohort_sizes.cohort_customers') }} as retention_rate
from aggregated
inner join cohort_sizes
    on aggregated.cohort_month = cohort_sizes.cohort_month
