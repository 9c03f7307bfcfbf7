-- End-of-day stock of the partition window, one row per (snapshot_date, store_id, product_id).
with source as (
    select * from {{ source('raw', 'inventory_snapshots') }}
    where {{ partition_filter('_partition_date') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by snapshot_date, store_id, product_id
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(snapshot_date as date) as snapshot_date,
        cast(store_id as varchar) as store_id,
        cast(product_id as varchar) as product_id,
        cast(quantity_on_hand as integer) as quantity_on_hand,
        cast(quantity_received as integer) as quantity_received,
        cast(quantity_on_order as integer) as quantity_on_order,
        cast(_partition_date as date) as partition_date,
        cast(_source_file as varchar) as source_file,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
