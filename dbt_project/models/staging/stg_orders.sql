-- Orders of the partition window, one row per order_id (latest load wins).
with source as (
    select * from {{ source('raw', 'orders') }}
    where {{ partition_filter('_partition_date') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by order_id
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(order_id as varchar) as order_id,
        cast(_partition_date as date) as order_date,
        cast(ordered_at as timestamp) as ordered_at,
        cast(store_id as varchar) as store_id,
        cast(channel as varchar) as channel,
        cast(customer_id as varchar) as customer_id,
        cast(order_type as varchar) as order_type,
        cast(status as varchar) as order_status,
        cast(original_order_id as varchar) as original_order_id,
        cast(payment_method as varchar) as payment_method,
        cast(promotion_code as varchar) as promotion_code,
        cast(_source_file as varchar) as source_file,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
