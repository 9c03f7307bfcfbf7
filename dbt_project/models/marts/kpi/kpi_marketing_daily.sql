{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='marketing_date') }}

-- Attribution: a customer is acquired by their acquisition_channel on the day of their first
-- completed sale; the channel is credited with that first order's net revenue.
with spend as (
    select * from {{ ref('fct_marketing_spend') }}
    where {{ partition_filter('spend_date') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
    where is_current
        and has_ordered
        and {{ partition_filter('first_order_date') }}
),

acquisitions as (
    select
        first_order_date as marketing_date,
        acquisition_channel as channel,
        {{ as_count('count(*)') }} as new_customers,
        {{ money('sum(first_order_net_revenue)') }} as attributed_revenue
    from customers
    -- the paid channels of the marketing_spend contract
    where acquisition_channel in ('paid_search', 'social', 'email', 'display', 'affiliate')
    group by first_order_date, acquisition_channel
),

channel_days as (
    select spend_date as marketing_date, channel from spend
    union
    select marketing_date, channel from acquisitions
),

joined as (
    select
        channel_days.marketing_date,
        channel_days.channel,
        coalesce(spend.spend, 0) as spend,
        coalesce(spend.impressions, 0) as impressions,
        coalesce(spend.clicks, 0) as clicks,
        coalesce(spend.reported_new_customers, 0) as reported_new_customers,
        coalesce(acquisitions.new_customers, 0) as new_customers,
        coalesce(acquisitions.attributed_revenue, 0) as attributed_revenue
    from channel_days
    left join spend
        on channel_days.marketing_date = spend.spend_date
        and channel_days.channel = spend.channel
    left join acquisitions
        on channel_days.marketing_date = acquisitions.marketing_date
        and channel_days.channel = acquisitions.channel
)

select
    marketing_date,
    channel,
    {{ money('spend') }} as spend,
    {{ as_count('impressions') }} as impressions,
    {{ as_count('clicks') }} as clicks,
    {{ safe_divide('clicks', 'impressions') }} as click_through_rate,
    {{ as_count('reported_new_customers') }} as reported_new_customers,
    new_customers,
    {{ safe_divide('spend', 'new_customers', 2) }} as customer_acquisition_cost,
    {{ money('attributed_revenue') }} as attributed_revenue,
    {{ safe_divide('attributed_revenue', 'spend') }} as return_on_ad_spend
from joined
