{#-
  A predicate keeping rows whose `key` is one of the keys `keys_query` returns.

  The keys are fetched when the model runs and written as literals: a literal IN list is pushed
  through the staging views' dedupe windows down to the table scan, where an IN (subquery) makes
  the view dedupe all history first (on a table, the subquery is as fast). Past `max_literals`
  keys (a long backfill) the subquery is kept, which costs what a full rebuild does. Unit tests
  keep it too: their inputs exist only inside the test's query.
-#}
{% macro key_filter(key, keys_query, max_literals=20000) -%}
    {%- set fetch = execute and model.resource_type != 'unit_test' -%}
    {%- set keys = run_query(keys_query).columns[0].values() | reject('none') | list if fetch else none -%}
    {%- if keys is none or keys | length > max_literals -%}
        {{ key }} in ({{ keys_query }})
    {%- elif keys | length == 0 -%}
        1 = 0
    {%- else -%}
        {{ key }} in ({% for value in keys %}'{{ value | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}
