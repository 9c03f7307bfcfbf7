{#-
  SCD type 2 versions from a staging model holding every delivered version of an entity
  (one row per key and delivered_date). A version opens on the day its attributes change; a
  delivery that changes nothing opens none. valid_to is exclusive, null for the current version.

  In an incremental run with a partition window, only the entities delivered inside the window,
  or loaded since the latest load the table holds (a day whose dbt run never happened), are
  rebuilt, each from all its deliveries (so a late or corrected delivery renumbers its versions
  correctly); the model's unique_key must be `key`, so delete+insert swaps exactly those
  entities' versions. last_loaded_at, the entity's latest load, lets the next run tell; built_at,
  the run that wrote the row, lets that run's tests check only what it rebuilt.
  `loads` is the raw table the staging model dedupes: the loads since a time are looked up
  there, by `_loaded_at`, since staging keeps each day's latest load (an entity has a version
  loaded after a time exactly when one of its raw rows was) and its dedupe window would have to
  run over all history first (0.6 s at 1.5M customer rows, instead of a few milliseconds).
-#}
{% macro scd2_versions(deliveries, loads, key, version_id, attributes) -%}
with deliveries as (
    select * from {{ deliveries }}
    {%- if is_incremental() and has_window() %}
    {%- set touched_keys %}
        select {{ key }} from {{ deliveries }}
        where {{ partition_filter('delivered_date') }}
        union
        select {{ key }} from {{ loads }}
        where _loaded_at > (select max(last_loaded_at) from {{ this }})
    {%- endset %}
    where {{ key_filter(key, touched_keys) }}
    {%- endif %}
),

hashed as (
    select
        *,
        {{ row_hash(attributes) }} as attributes_hash,
        max(loaded_at) over (partition by {{ key }}) as last_loaded_at
    from deliveries
),

compared as (
    select
        *,
        lag(attributes_hash) over (partition by {{ key }} order by delivered_date) as previous_hash
    from hashed
),

changes as (
    select * from compared
    where previous_hash is null or previous_hash <> attributes_hash
),

versioned as (
    select
        {{ key }},
        {%- for column in attributes %}
        {{ column }},
        {%- endfor %}
        delivered_date as valid_from,
        lead(delivered_date) over (partition by {{ key }} order by delivered_date) as valid_to,
        cast(row_number() over (partition by {{ key }} order by delivered_date) as integer) as version_number,
        last_loaded_at
    from changes
)

select
    {{ key }} || '@' || cast(valid_from as varchar) as {{ version_id }},
    *,
    valid_to is null as is_current,
    {{ build_timestamp() }} as built_at
from versioned
{%- endmacro %}
