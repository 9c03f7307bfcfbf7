{{ config(materialized='view') }}
-- depends_on: {{ source('ml', 'forecasts_revenue') }}
-- A view: the forecasting assets write ml.forecasts_revenue after the dbt step of a run, and a
-- view reads what they wrote whenever it is queried, so the published table and the alerts see
-- the day's new forecasts without a second dbt invocation per run.
{#- The forecasts table appears once the forecasting assets have run; a view built before that
    is empty rather than failing (a warehouse without forecasts still builds) until the next
    dbt step builds it again. -#}
{%- set forecasts_relation = adapter.get_relation(
    database=target.database, schema='ml', identifier='forecasts_revenue') if execute else none %}

with sales as (
    select * from {{ ref('kpi_daily_sales') }}
),

actuals as (
    select
        sales_date as forecast_date,
        cast(store_id as {{ dbt.type_string() }}) || '|' || cast(channel as {{ dbt.type_string() }}) as series_id,
        sum(net_revenue) as actual_net_revenue
    from sales
    group by 1, 2
    union all
    select
        sales_date as forecast_date,
        'total' as series_id,
        sum(net_revenue) as actual_net_revenue
    from sales
    group by 1
),

forecasts as (
    {%- if forecasts_relation is not none %}
    select
        date as forecast_date,
        series_id,
        forecast_origin,
        model_version,
        yhat,
        yhat_lower,
        yhat_upper,
        row_number() over (partition by series_id, date order by forecast_origin desc) as recency
    from {{ forecasts_relation }}
    where forecast_origin < date
    {%- else %}
    select
        cast(null as date) as forecast_date,
        cast(null as {{ dbt.type_string() }}) as series_id,
        cast(null as date) as forecast_origin,
        cast(null as {{ dbt.type_string() }}) as model_version,
        cast(null as {{ dbt.type_float() }}) as yhat,
        cast(null as {{ dbt.type_float() }}) as yhat_lower,
        cast(null as {{ dbt.type_float() }}) as yhat_upper,
        1 as recency
    where 1 = 0
    {%- endif %}
),

latest_forecasts as (
    select * from forecasts where recency = 1
)

select
    f.forecast_date,
    f.series_id,
    f.forecast_origin,
    f.model_version,
    {{ money('f.yhat') }} as forecast_net_revenue,
    {{ money('f.yhat_lower') }} as forecast_lower,
    {{ money('f.yhat_upper') }} as forecast_upper,
    a.actual_net_revenue,
    {{ money('a.actual_net_revenue - f.yhat') }} as forecast_error,
    case
        when a.actual_net_revenue is null then null
        when a.actual_net_revenue < f.yhat_lower then 'below'
        when a.actual_net_revenue > f.yhat_upper then 'above'
        else 'within'
    end as actual_vs_interval
from latest_forecasts as f
left join actuals as a
    on a.forecast_date = f.forecast_date
    and a.series_id = f.series_id
