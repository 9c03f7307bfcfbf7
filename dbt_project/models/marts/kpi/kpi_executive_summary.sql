{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='summary_date') }}

{#- Comparisons need at most 372 days of history (trailing 7 days a year ago): read 400. -#}
{%- set lookback_days = 400 -%}
{#- metric: (numerator component, denominator component or none, kind) -#}
{%- set metrics = [
    ('net_revenue', 'net_revenue', none, 'money'),
    ('orders', 'orders', none, 'count'),
    ('average_order_value', 'sales_revenue', 'orders', 'money'),
    ('sessions', 'sessions', none, 'count'),
    ('conversion_rate', 'order_sessions', 'sessions', 'rate'),
    ('new_customers', 'new_customers', none, 'count'),
] -%}
{%- set components = ['net_revenue', 'orders', 'sales_revenue', 'sessions', 'order_sessions', 'new_customers'] -%}
{#- value suffix in the window CTE -> column suffix in the output -#}
{%- set periods = [
    ('', ''), ('__lw', '_last_week'), ('__7d', '_7d'), ('__p7d', '_previous_7d'),
    ('__28d', '_28d'), ('__p28d', '_previous_28d'), ('__ly', '_last_year'), ('__7d_ly', '_7d_last_year'),
] -%}
{#- comparison name, current period, base period -#}
{%- set comparisons = [
    ('vs_last_week', '', '_last_week'),
    ('wow', '_7d', '_previous_7d'),
    ('mom', '_28d', '_previous_28d'),
    ('yoy', '', '_last_year'),
    ('yoy_7d', '_7d', '_7d_last_year'),
] -%}

with orders as (
    select * from {{ ref('fct_orders') }}
    where {{ partition_filter('order_date', lookback_days=lookback_days) }}
),

sessions as (
    select * from {{ ref('fct_web_sessions') }}
    where {{ partition_filter('session_date', lookback_days=lookback_days) }}
),

customers as (
    select * from {{ ref('dim_customers') }}
    where is_current
        and has_ordered
        and {{ partition_filter('first_order_date', lookback_days=lookback_days) }}
),

daily_orders as (
    select
        order_date,
        sum(case when not is_cancelled then net_amount else 0 end) as net_revenue,
        sum(case when is_completed_sale then 1 else 0 end) as orders,
        sum(case when is_completed_sale then net_amount else 0 end) as sales_revenue
    from orders
    group by order_date
),

daily_sessions as (
    select
        session_date,
        count(*) as sessions,
        sum(case when has_order then 1 else 0 end) as order_sessions
    from sessions
    group by session_date
),

daily_new_customers as (
    select first_order_date, count(*) as new_customers
    from customers
    group by first_order_date
),

spine as (
    select dates.date_day as summary_date
    from {{ ref('dim_date') }} as dates
    where dates.date_day >= (select min(order_date) from daily_orders)
        and dates.date_day <= (select max(order_date) from daily_orders)
),

daily as (
    select
        spine.summary_date,
        coalesce(daily_orders.net_revenue, 0) as net_revenue,
        coalesce(daily_orders.orders, 0) as orders,
        coalesce(daily_orders.sales_revenue, 0) as sales_revenue,
        coalesce(daily_sessions.sessions, 0) as sessions,
        coalesce(daily_sessions.order_sessions, 0) as order_sessions,
        coalesce(daily_new_customers.new_customers, 0) as new_customers
    from spine
    left join daily_orders on spine.summary_date = daily_orders.order_date
    left join daily_sessions on spine.summary_date = daily_sessions.session_date
    left join daily_new_customers on spine.summary_date = daily_new_customers.first_order_date
),

-- trailing windows over the gap-free day spine; frames reaching before the first day of data
-- are partial (empty frames give null)
windowed as (
    select
        summary_date
        {%- for c in components %},
        {{ c }},
        lag({{ c }}, 7) over (order by summary_date) as {{ c }}__lw,
        sum({{ c }}) over (order by summary_date rows between 6 preceding and current row) as {{ c }}__7d,
        sum({{ c }}) over (order by summary_date rows between 13 preceding and 7 preceding) as {{ c }}__p7d,
        sum({{ c }}) over (order by summary_date rows between 27 preceding and current row) as {{ c }}__28d,
        sum({{ c }}) over (order by summary_date rows between 55 preceding and 28 preceding) as {{ c }}__p28d
        {%- endfor %}
    from daily
),

with_last_year as (
    select
        windowed.*
        {%- for c in components %},
        last_year.{{ c }} as {{ c }}__ly,
        last_year.{{ c }}__7d as {{ c }}__7d_ly
        {%- endfor %}
    from windowed
    left join windowed as last_year
        on last_year.summary_date = {{ add_years('windowed.summary_date', -1) }}
    where {{ partition_filter('windowed.summary_date') }}
),

metric_values as (
    select
        summary_date
        {%- for name, numerator, denominator, kind in metrics %}
        {%- for source_suffix, column_suffix in periods %},
        {%- if denominator is not none %}
        {{ safe_divide(numerator ~ source_suffix, denominator ~ source_suffix, 2 if kind == 'money' else 4) }}
        {%- elif kind == 'money' %}
        {{ money(numerator ~ source_suffix) }}
        {%- else %}
        {{ as_count(numerator ~ source_suffix) }}
        {%- endif %} as {{ name }}{{ column_suffix }}
        {%- endfor %}
        {%- endfor %}
    from with_last_year
)

select
    summary_date
    {%- for name, numerator, denominator, kind in metrics %}
    {%- for source_suffix, column_suffix in periods %},
    {{ name }}{{ column_suffix }}
    {%- endfor %}
    {%- for comparison, current, base in comparisons %},
    {{ name }}{{ current }} - {{ name }}{{ base }} as {{ name }}_{{ comparison }}_change,
    {{ safe_divide(name ~ current ~ ' - ' ~ name ~ base, name ~ base) }} as {{ name }}_{{ comparison }}_pct
    {%- endfor %}
    {%- endfor %}
from metric_values
