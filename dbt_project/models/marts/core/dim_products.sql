-- Product versions (SCD type 2), one row per product and version.
with product_versions as (
    select * from {{ ref('int_product_versions') }}
)

select
    product_version_id,
    product_id,
    sku,
    product_name,
    category,
    brand,
    list_price,
    unit_cost,
    {{ money('list_price - unit_cost') }} as unit_margin,
    launched_date,
    is_active,
    version_number,
    valid_from,
    valid_to,
    is_current
from product_versions
