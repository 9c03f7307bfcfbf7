-- Order lines of the partition window, one row per (order_id, line_number) (latest load wins).
with source as (
    select * from {{ source('raw', 'order_lines') }}
    where {{ partition_filter('_partition_date') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(order_id as varchar) || '-' || cast(line_number as varchar) as order_line_id,
        cast(order_id as varchar) as order_id,
        cast(line_number as integer) as line_number,
        cast(_partition_date as date) as order_date,
        cast(product_id as varchar) as product_id,
        cast(line_type as varchar) as line_type,
        cast(quantity as integer) as quantity,
        cast(unit_price as decimal(12, 2)) as unit_price,
        cast(discount_amount as decimal(12, 2)) as discount_amount,
        cast(_source_file as varchar) as source_file,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
