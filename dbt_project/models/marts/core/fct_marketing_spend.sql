{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='spend_date') }}

with spend as (
    select * from {{ ref('stg_marketing_spend') }}
)

select
    spend_date,
    channel,
    spend,
    impressions,
    clicks,
    reported_new_customers
from spend
