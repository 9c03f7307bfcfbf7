-- Web-shop visits of the partition window, one row per session_id (latest load wins).
with source as (
    select * from {{ source('raw', 'web_sessions') }}
    where {{ partition_filter('_partition_date') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by session_id
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(session_id as varchar) as session_id,
        cast(_partition_date as date) as session_date,
        cast(started_at as timestamp) as started_at,
        cast(customer_id as varchar) as customer_id,
        cast(traffic_source as varchar) as traffic_source,
        cast(device as varchar) as device,
        cast(product_views as integer) as product_views,
        cast(add_to_cart_events as integer) as add_to_cart_events,
        cast(reached_checkout as boolean) as has_reached_checkout,
        cast(order_id as varchar) as order_id,
        cast(_source_file as varchar) as source_file,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
