{#-
  Portable SQL helpers: every model must give the same numbers on DuckDB and PostgreSQL 15.
  Money is numeric(14,2) and rates numeric(18,4) on both targets: no floating point in marts.
-#}

{#- Money: round to cents and fix the type. -#}
{% macro money(expression) -%}
    cast(round(cast({{ expression }} as decimal(18, 4)), 2) as decimal(14, 2))
{%- endmacro %}

{#- numerator / denominator, null when the denominator is 0 or null; rounded to `scale` decimals.
    Both sides are cast to numeric so integer division never truncates. -#}
{% macro safe_divide(numerator, denominator, scale=4) -%}
    cast(round(
        cast({{ numerator }} as decimal(38, 10))
        / nullif(cast({{ denominator }} as decimal(38, 10)), 0)
    , {{ scale }}) as decimal(18, {{ scale }}))
{%- endmacro %}

{#- Integer count with the same type on both targets (DuckDB sums integers as HUGEINT). -#}
{% macro as_count(expression) -%}
    cast({{ expression }} as bigint)
{%- endmacro %}

{#- A date literal from a 'YYYY-MM-DD' string. -#}
{% macro date_literal(value) -%}
    cast('{{ value }}' as date)
{%- endmacro %}

{#- When this dbt invocation started, as a timestamp (UTC, no time zone): marks the rows it wrote. -#}
{% macro build_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- date + n days (n may be negative): date +/- integer is a date on both targets. -#}
{% macro add_days(date_expression, days) -%}
    cast(({{ date_expression }}) + ({{ days }}) as date)
{%- endmacro %}

{#- Whole days from start to end (end - start). -#}
{% macro days_between(start_date, end_date) -%}
    cast(({{ end_date }}) - ({{ start_date }}) as integer)
{%- endmacro %}

{#- Same calendar day n years away (29 Feb -> 28 Feb). -#}
{% macro add_years(date_expression, years) -%}
    {{ return(adapter.dispatch('add_years', 'datatrendz')(date_expression, years)) }}
{%- endmacro %}
{% macro default__add_years(date_expression, years) -%}
    cast(cast({{ date_expression }} as timestamp) + interval '{{ years }} year' as date)
{%- endmacro %}
{% macro duckdb__add_years(date_expression, years) -%}
    cast(cast({{ date_expression }} as timestamp) + to_years(cast({{ years }} as integer)) as date)
{%- endmacro %}

{#- First day of the date's week (ISO, Monday), month, quarter or year, as a date. -#}
{% macro trunc_date(part, date_expression) -%}
    cast(date_trunc('{{ part }}', cast({{ date_expression }} as timestamp)) as date)
{%- endmacro %}

{#- ISO day of week: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}

{#- Calendar part (year, month, day, quarter, week) as an integer. -#}
{% macro date_part_int(part, date_expression) -%}
    cast(extract({{ part }} from {{ date_expression }}) as integer)
{%- endmacro %}

{#- Calendar months from start_date's month to end_date's month. -#}
{% macro months_between(start_date, end_date) -%}
    cast(
        (extract(year from {{ end_date }}) - extract(year from {{ start_date }})) * 12
        + extract(month from {{ end_date }}) - extract(month from {{ start_date }})
    as integer)
{%- endmacro %}

{#- True when any row's condition is true (boolean aggregation). -#}
{% macro bool_any(condition) -%}
    (max(case when {{ condition }} then 1 else 0 end) = 1)
{%- endmacro %}

{#- A subquery with one row per day, column `date_day`, from start to end inclusive. -#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series', 'datatrendz')(start_date, end_date)) }}
{%- endmacro %}
{% macro default__date_series(start_date, end_date) -%}
    (
        with recursive days (date_day) as (
            select {{ start_date }}
            union all
            select {{ add_days('date_day', 1) }} from days where date_day < {{ end_date }}
        )
        select date_day from days
    )
{%- endmacro %}
{% macro duckdb__date_series(start_date, end_date) -%}
    (
        select cast(series_at as date) as date_day
        from generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '1 day') as series (series_at)
    )
{%- endmacro %}
{% macro postgres__date_series(start_date, end_date) -%}
    (
        select cast(series_at as date) as date_day
        from generate_series(cast({{ start_date }} as timestamp), cast({{ end_date }} as timestamp), interval '1 day') as series (series_at)
    )
{%- endmacro %}

{#- Hash of a row's attributes, to detect changed versions (compared on one target only). -#}
{% macro row_hash(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns %}, coalesce(cast({{ column }} as varchar), '<null>'){% endfor -%}
    ))
{%- endmacro %}
