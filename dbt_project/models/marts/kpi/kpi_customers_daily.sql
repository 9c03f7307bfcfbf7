{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_date') }}

-- Reads orders of the window plus 89 days (the 90-day activity window) and small per-customer
-- and per-day series; running totals are taken over the day series, not over order history.
with orders as (
    select order_date, customer_id
    from {{ ref('fct_orders') }}
    where {{ partition_filter('order_date', lookback_days=89) }}
        and is_completed_sale
        and customer_id is not null
),

customers as (
    select customer_id, first_order_date, second_order_date, last_order_date
    from {{ ref('dim_customers') }}
    where is_current
        and has_ordered
),

customer_revenue as (
    select order_date, customer_net_revenue
    from {{ ref('int_customer_revenue_daily') }}
    {%- if window_end() %}
    where order_date <= {{ date_literal(window_end()) }}
    {%- endif %}
),

bounds as (
    select
        (select min(first_order_date) from customers) as first_order_day,
        (select min(order_date) from customer_revenue) as first_revenue_day,
        (select max(last_order_date) from customers) as last_day
),

spine as (
    select dates.date_day as customer_date
    from {{ ref('dim_date') }} as dates
    cross join bounds
    where dates.date_day >= least(bounds.first_order_day, coalesce(bounds.first_revenue_day, bounds.first_order_day))
        and dates.date_day <= bounds.last_day
        {%- if window_end() %}
        and dates.date_day <= {{ date_literal(window_end()) }}
        {%- endif %}
),

customer_days as (
    select distinct customer_id, order_date
    from orders
),

-- each order day keeps its customer active until the next order day or for 90 days
activity_intervals as (
    select
        customer_id,
        order_date as active_from,
        coalesce(
            {{ add_days('lead(order_date) over (partition by customer_id order by order_date)', -1) }},
            {{ add_days('order_date', 89) }}
        ) as next_day_before,
        {{ add_days('order_date', 89) }} as activity_end
    from customer_days
),

activity_events as (
    select active_from as event_date, 1 as delta
    from activity_intervals
    union all
    select {{ add_days('least(next_day_before, activity_end)', 1) }} as event_date, -1 as delta
    from activity_intervals
),

daily_activity as (
    select event_date, sum(delta) as delta
    from activity_events
    group by event_date
),

daily_buyers as (
    select order_date, {{ as_count('count(distinct customer_id)') }} as buyers
    from orders
    group by order_date
),

daily_first_orders as (
    select first_order_date, {{ as_count('count(*)') }} as customers
    from customers
    group by first_order_date
),

daily_second_orders as (
    select second_order_date, {{ as_count('count(*)') }} as customers
    from customers
    where second_order_date is not null
    group by second_order_date
),

daily_series as (
    select
        spine.customer_date,
        coalesce(daily_buyers.buyers, 0) as buyers,
        coalesce(daily_first_orders.customers, 0) as new_customers,
        sum(coalesce(daily_activity.delta, 0)) over (
            order by spine.customer_date rows between unbounded preceding and current row
        ) as active_customers,
        sum(coalesce(daily_first_orders.customers, 0)) over (
            order by spine.customer_date rows between unbounded preceding and current row
        ) as customers_to_date,
        sum(coalesce(daily_second_orders.customers, 0)) over (
            order by spine.customer_date rows between unbounded preceding and current row
        ) as repeat_customers_to_date,
        sum(coalesce(customer_revenue.customer_net_revenue, 0)) over (
            order by spine.customer_date rows between unbounded preceding and current row
        ) as net_revenue_to_date
    from spine
    left join daily_buyers on spine.customer_date = daily_buyers.order_date
    left join daily_first_orders on spine.customer_date = daily_first_orders.first_order_date
    left join daily_second_orders on spine.customer_date = daily_second_orders.second_order_date
    left join daily_activity on spine.customer_date = daily_activity.event_date
    left join customer_revenue on spine.customer_date = customer_revenue.order_date
)

select
    customer_date,
    {{ as_count('active_customers') }} as active_customers,
    buyers,
    new_customers,
    buyers - new_customers as returning_customers,
    {{ as_count('customers_to_date') }} as customers_to_date,
    {{ as_count('repeat_customers_to_date') }} as repeat_customers_to_date,
    {{ safe_divide('repeat_customers_to_date', 'customers_to_date') }} as repeat_purchase_rate,
    {{ as_count('customers_to_date - active_customers') }} as churned_customers,
    {{ safe_divide('customers_to_date - active_customers', 'customers_to_date') }} as churn_rate,
    {{ money('net_revenue_to_date') }} as net_revenue_to_date,
    {{ safe_divide('net_revenue_to_date', 'customers_to_date', 2) }} as customer_lifetime_value
from daily_series
where {{ partition_filter('customer_date') }}
