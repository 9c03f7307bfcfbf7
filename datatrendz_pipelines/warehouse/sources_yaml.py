"""Render dbt's `models/staging/_sources.yml` from the source contracts.

The contracts are the single source of truth: every raw table and column description in dbt's
docs comes from them, so a rule is written once. Run `python -m
datatrendz_pipelines.warehouse.sources_yaml` after editing a contract; a test checks that the
committed file equals the rendered one.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import yaml

from datatrendz_pipelines.contracts import Contract, load_contracts

SOURCES_YAML_PATH = (
    Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_sources.yml"
)

RAW_SCHEMA = "raw"

# Columns the ingestion adds to every raw table, after the contract's columns.
LOAD_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("_partition_date", "DATE", "Landing day the row was delivered for (the partition key)."),
    ("_source_file", "VARCHAR", "File (or source query) the row was loaded from."),
    ("_source_row", "BIGINT", "Position of the row in its source file."),
    ("_loaded_at", "TIMESTAMP", "When the row was loaded into the warehouse (UTC)."),
)

_HEADER = (
    "# GENERATED from datatrendz_pipelines/contracts/*.yaml by\n"
    "# `python -m datatrendz_pipelines.warehouse.sources_yaml`. Do not edit by hand.\n"
)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _table(contract: Contract) -> dict[str, object]:
    columns: list[dict[str, object]] = [
        {
            "name": column.name,
            "description": _one_line(column.description),
            "data_type": column.type.lower(),
        }
        for column in contract.columns
    ]
    columns += [
        {"name": name, "description": description, "data_type": type_name.lower()}
        for name, type_name, description in LOAD_COLUMNS
    ]
    return {
        "name": contract.source,
        "description": _one_line(contract.description),
        "config": {
            "meta": {
                "kind": contract.kind,
                "required": contract.required,
                "primary_key": list(contract.primary_key),
            }
        },
        "columns": columns,
    }


def render_sources_yaml(contracts: Mapping[str, Contract]) -> str:
    """The text of `_sources.yml`: source `raw` with one table per contract, in the given order.

    Table and column descriptions are the contracts' own; each table also lists the four load
    columns the ingestion adds. The output is deterministic (same contracts, same text).
    """
    document = {
        "version": 2,
        "sources": [
            {
                "name": RAW_SCHEMA,
                "schema": RAW_SCHEMA,
                "description": (
                    "Raw layer written by the ingestion assets: one table per source contract, "
                    "typed per the contract, rows that broke a contract rule already quarantined. "
                    "A source that never arrived is an empty table."
                ),
                "tables": [_table(contract) for contract in contracts.values()],
            }
        ],
    }
    body = yaml.safe_dump(document, sort_keys=False, width=1000, allow_unicode=True)
    return _HEADER + body


def write_sources_yaml(path: Path = SOURCES_YAML_PATH) -> Path:
    """Render from the shipped contracts and write the file; returns its path."""
    path.write_text(render_sources_yaml(load_contracts()), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(f"wrote {write_sources_yaml()}")
