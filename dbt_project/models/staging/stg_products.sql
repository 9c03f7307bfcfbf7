-- Every delivered product version: one row per (product_id, delivered_date), the day's latest load wins.
with source as (
    select * from {{ source('raw', 'products') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by product_id, _partition_date
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(product_id as varchar) as product_id,
        cast(_partition_date as date) as delivered_date,
        cast(sku as varchar) as sku,
        cast(product_name as varchar) as product_name,
        cast(category as varchar) as category,
        cast(brand as varchar) as brand,
        cast(unit_price as decimal(12, 2)) as list_price,
        cast(unit_cost as decimal(12, 2)) as unit_cost,
        cast(launched_date as date) as launched_date,
        cast(is_active as boolean) as is_active,
        cast(_source_file as varchar) as source_file,
        cast(_source_row as bigint) as source_row,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
