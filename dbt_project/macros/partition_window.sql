{#-
  The partition window: dbt vars `min_date` / `max_date` ('YYYY-MM-DD', inclusive), or else the
  environment variables DATATRENDZ_DBT_MIN_DATE / DATATRENDZ_DBT_MAX_DATE.
  Absent (null) means "no bound": a run without either covers all history.
  By hand: --vars '{"min_date": "2024-11-30", "max_date": "2024-11-30"}'. The pipeline sets the
  environment instead: vars that differ from the last parse make dbt re-parse the whole project,
  while the environment is read only when a model runs (`execute`), so parsing never sees it.
-#}

{% macro _window_var(name) -%}
    {%- set value = var(name, none) -%}
    {%- if (value is none or value | string | trim == '') and execute -%}
        {%- set value = env_var('DATATRENDZ_DBT_' ~ name | upper, '') -%}
    {%- endif -%}
    {%- if value is none or value | string | trim == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set value = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', value) -%}
        {{ exceptions.raise_compiler_error("var '" ~ name ~ "' must be a 'YYYY-MM-DD' string, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- The window's first day minus `lookback_days` (aligned to its ISO week's Monday when
    align='week'), as 'YYYY-MM-DD', or none when min_date is not set. -#}
{% macro window_start(lookback_days=0, align=none) -%}
    {%- set min_date = _window_var('min_date') -%}
    {%- if min_date is none -%}{{ return(none) }}{%- endif -%}
    {%- set day = modules.datetime.date.fromisoformat(min_date) - modules.datetime.timedelta(days=lookback_days) -%}
    {%- if align == 'week' -%}
        {%- set day = day - modules.datetime.timedelta(days=day.weekday()) -%}
    {%- endif -%}
    {{ return(day.isoformat()) }}
{%- endmacro %}

{#- The window's last day (moved to its ISO week's Sunday when align='week'), or none. -#}
{% macro window_end(align=none) -%}
    {%- set max_date = _window_var('max_date') -%}
    {%- if max_date is none -%}{{ return(none) }}{%- endif -%}
    {%- set day = modules.datetime.date.fromisoformat(max_date) -%}
    {%- if align == 'week' -%}
        {%- set day = day + modules.datetime.timedelta(days=6 - day.weekday()) -%}
    {%- endif -%}
    {{ return(day.isoformat()) }}
{%- endmacro %}

{#- A predicate keeping `column` (a date) inside the window, widened back by lookback_days
    (and to whole ISO weeks with align='week').
    Put it in the WHERE clause right on the table read, so only the window is scanned. -#}
{% macro partition_filter(column, lookback_days=0, align=none) -%}
    {%- set start = window_start(lookback_days, align) -%}
    {%- set end = window_end(align) -%}
    {%- if start is none and end is none -%}
        1 = 1
    {%- else -%}
        {%- if start is not none -%}{{ column }} >= {{ date_literal(start) }}{%- endif -%}
        {%- if start is not none and end is not none %} and {% endif -%}
        {%- if end is not none -%}{{ column }} <= {{ date_literal(end) }}{%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- True when the run has a partition window (min_date or max_date set). -#}
{% macro has_window() -%}
    {{ return(_window_var('min_date') is not none or _window_var('max_date') is not none) }}
{%- endmacro %}
