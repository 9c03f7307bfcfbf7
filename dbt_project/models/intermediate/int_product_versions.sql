-- SCD type 2 history of products, derived from every delivered version in raw (deterministic,
-- rebuilt from scratch each run). A delivery that changes no attribute does not open a version.
{{ config(materialized='table') }}

with products as (
    select * from {{ ref('stg_products') }}
),

hashed as (
    select
        *,
        {{ row_hash(['sku', 'product_name', 'category', 'brand', 'list_price', 'unit_cost', 'launched_date', 'is_active']) }} as attributes_hash
    from products
),

compared as (
    select
        *,
        lag(attributes_hash) over (partition by product_id order by delivered_date) as previous_hash
    from hashed
),

changes as (
    select * from compared
    where previous_hash is null or previous_hash <> attributes_hash
),

versioned as (
    select
        product_id,
        sku,
        product_name,
        category,
        brand,
        list_price,
        unit_cost,
        launched_date,
        is_active,
        delivered_date as valid_from,
        lead(delivered_date) over (partition by product_id order by delivered_date) as valid_to,
        cast(row_number() over (partition by product_id order by delivered_date) as integer) as version_number
    from changes
)

select
    product_id || '@' || cast(valid_from as varchar) as product_version_id,
    *,
    valid_to is null as is_current
from versioned
