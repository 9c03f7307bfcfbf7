-- Current version of every store (type 1: the latest delivery wins).
with store_versions as (
    select * from {{ ref('stg_stores') }}
),

ranked as (
    select
        *,
        row_number() over (partition by store_id order by delivered_date desc) as recency_rank
    from store_versions
)

select
    store_id,
    store_name,
    channel,
    channel = 'online' as is_web_shop,
    region,
    city,
    opened_date,
    closed_date,
    closed_date is not null as is_closed,
    square_meters,
    delivered_date as last_changed_date
from ranked
where recency_rank = 1
