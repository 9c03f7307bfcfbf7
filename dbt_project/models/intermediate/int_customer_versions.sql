-- SCD type 2 history of customers, derived from every delivered version in raw (deterministic,
-- rebuilt from scratch each run). A delivery that changes no attribute does not open a version.
{{ config(materialized='table') }}

with customers as (
    select * from {{ ref('stg_customers') }}
),

hashed as (
    select
        *,
        {{ row_hash(['first_name', 'last_name', 'email', 'phone', 'street_address', 'city', 'region', 'signup_date', 'acquisition_channel']) }} as attributes_hash
    from customers
),

compared as (
    select
        *,
        lag(attributes_hash) over (partition by customer_id order by delivered_date) as previous_hash
    from hashed
),

changes as (
    select * from compared
    where previous_hash is null or previous_hash <> attributes_hash
),

versioned as (
    select
        customer_id,
        first_name,
        last_name,
        email,
        phone,
        street_address,
        city,
        region,
        signup_date,
        acquisition_channel,
        delivered_date as valid_from,
        lead(delivered_date) over (partition by customer_id order by delivered_date) as valid_to,
        cast(row_number() over (partition by customer_id order by delivered_date) as integer) as version_number
    from changes
)

select
    customer_id || '@' || cast(valid_from as varchar) as customer_version_id,
    *,
    valid_to is null as is_current
from versioned
