{#- Which of several deliveries of the same row wins in staging: the latest load, then the latest
    file and row within it. One place for the rule every stg_* model applies. -#}
{% macro latest_load_first() -%}
    _loaded_at desc, _source_file desc, _source_row desc
{%- endmacro %}
