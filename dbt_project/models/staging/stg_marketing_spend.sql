-- Paid-marketing spend of the partition window, one row per (spend_date, channel).
with source as (
    select * from {{ source('raw', 'marketing_spend') }}
    where {{ partition_filter('_partition_date') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by spend_date, channel
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(spend_date as date) as spend_date,
        cast(channel as varchar) as channel,
        cast(spend as decimal(12, 2)) as spend,
        cast(impressions as bigint) as impressions,
        cast(clicks as bigint) as clicks,
        cast(new_customers as integer) as reported_new_customers,
        cast(_partition_date as date) as partition_date,
        cast(_source_file as varchar) as source_file,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
