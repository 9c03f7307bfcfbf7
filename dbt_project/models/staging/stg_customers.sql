-- Every delivered customer version: one row per (customer_id, delivered_date), the day's latest load wins.
with source as (
    select * from {{ source('raw', 'customers') }}
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by customer_id, _partition_date
            order by {{ latest_load_first() }}
        ) as load_rank
    from source
),

renamed as (
    select
        cast(customer_id as varchar) as customer_id,
        cast(_partition_date as date) as delivered_date,
        cast(first_name as varchar) as first_name,
        cast(last_name as varchar) as last_name,
        cast(email as varchar) as email,
        cast(phone as varchar) as phone,
        cast(street_address as varchar) as street_address,
        cast(city as varchar) as city,
        cast(region as varchar) as region,
        cast(signup_date as date) as signup_date,
        cast(acquisition_channel as varchar) as acquisition_channel,
        cast(_source_file as varchar) as source_file,
        cast(_source_row as bigint) as source_row,
        cast(_loaded_at as timestamp) as loaded_at
    from deduplicated
    where load_rank = 1
)

select * from renamed
