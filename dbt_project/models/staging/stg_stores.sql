-- Every delivered store version: one row per (store_id, delivered_date), the day's latest load wins.
with source as (
    select * from {{ source('raw', 'stores') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by store_id, _partition_date
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(store_id as varchar) as store_id,
        cast(_partition_date as date) as delivered_date,
        cast(store_name as varchar) as store_name,
        cast(channel as varchar) as channel,
        cast(region as varchar) as region,
        cast(city as varchar) as city,
        cast(opened_date as date) as opened_date,
        cast(closed_date as date) as closed_date,
        cast(square_meters as integer) as square_meters,
        cast(_source_file as varchar) as source_file,
        cast(_source_row as bigint) as source_row,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
