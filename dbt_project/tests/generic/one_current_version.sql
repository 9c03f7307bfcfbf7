{#- SCD type 2: every key has exactly one row flagged current, and versions do not overlap. -#}
{% test one_current_version(model, column_name, valid_from='valid_from', valid_to='valid_to', current_flag='is_current') %}
with versions as (
    select * from {{ model }}
),

counts as (
    select {{ column_name }} as key_value,
           sum(case when {{ current_flag }} then 1 else 0 end) as current_rows
    from versions
    group by {{ column_name }}
),

overlapping_versions as (
    select a.{{ column_name }} as key_value, 1 as current_rows
    from versions as a
    inner join versions as b
        on a.{{ column_name }} = b.{{ column_name }}
        and a.{{ valid_from }} < b.{{ valid_from }}
        and (a.{{ valid_to }} is null or a.{{ valid_to }} > b.{{ valid_from }})
)

select key_value, current_rows from counts where current_rows <> 1
union all
select key_value, current_rows from overlapping_versions
{% endtest %}
