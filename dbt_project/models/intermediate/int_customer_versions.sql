-- SCD type 2 history of customers, derived from every delivered version in raw (deterministic,
-- rebuildable). A daily run rebuilds only the customers delivered that day.
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='customer_id', on_schema_change='append_new_columns') }}

{{ scd2_versions(
    ref('stg_customers'),
    loads=source('raw', 'customers'),
    key='customer_id',
    version_id='customer_version_id',
    attributes=['first_name', 'last_name', 'email', 'phone', 'street_address', 'city', 'region', 'signup_date', 'acquisition_channel'],
) }}
