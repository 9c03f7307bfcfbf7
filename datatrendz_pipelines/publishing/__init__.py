"""Publishing: KPI and forecast tables to PostgreSQL (`analytics` schema) and to Parquet.

Plain modules, no Dagster: `postgres` (atomic publish, daily partitions), `status`
(`publish_status`), `access` + `setup` (roles and privileges, CLI), `privacy` (PII), `parquet`
(lake export), `comments` (dbt descriptions), `pgcopy` / `pgnumeric` / `pgsql` (binary COPY
from Arrow). `bench_publish` measures publish_table against a bare COPY.
"""
