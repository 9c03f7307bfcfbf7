{#-
  Generic tests on the day-partitioned tables check only the run's window when it has one, so a
  daily build's tests cost one day, not the whole history; a run without vars (or a full
  refresh) tests everything. Which column dates each relation: the var `test_window_columns`
  (a column name, or {column, align} for weekly tables). Tables rebuilt by entity (the SCD type 2
  ones: all of an entity's rows at once) name their `built_at` column as {rebuilt: built_at}
  instead: a windowed run tests the rows of the latest build, which holds every entity it
  rebuilt. Overrides dbt's get_where_subquery and keeps its `where` config.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set windowed = var('test_window_columns', {}).get(relation.identifier) if has_window() else none -%}
    {%- if windowed is string -%}
        {%- do conditions.append(partition_filter(windowed)) -%}
    {%- elif windowed and windowed.get('rebuilt') -%}
        {%- do conditions.append(windowed['rebuilt'] ~ ' = (select max(' ~ windowed['rebuilt'] ~ ') from ' ~ relation ~ ')') -%}
    {%- elif windowed -%}
        {%- do conditions.append(partition_filter(windowed['column'], align=windowed.get('align'))) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
