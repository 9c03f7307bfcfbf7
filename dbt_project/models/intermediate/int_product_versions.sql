-- SCD type 2 history of products, derived from every delivered version in raw (deterministic,
-- rebuildable). A daily run rebuilds only the products delivered that day.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='product_id', on_schema_change='append_new_columns') }}

{{ scd2_versions(
    ref('stg_products'),
    loads=source('raw', 'products'),
    key='product_id',
    version_id='product_version_id',
    attributes=['sku', 'product_name', 'category', 'brand', 'list_price', 'unit_cost', 'launched_date', 'is_active'],
) }}
