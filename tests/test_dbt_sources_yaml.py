"""dbt's raw sources file is generated from the contracts and must be kept in step with them."""

from __future__ import annotations

import yaml

from datatrendz_pipelines.contracts import load_contracts
from datatrendz_pipelines.warehouse.sources_yaml import (
    LOAD_COLUMNS,
    SOURCES_YAML_PATH,
    render_sources_yaml,
)


def test_committed_sources_yaml_is_rendered_from_the_contracts() -> None:
    expected = render_sources_yaml(load_contracts())
    assert SOURCES_YAML_PATH.read_text(encoding="utf-8") == expected, (
        "dbt_project/models/staging/_sources.yml is stale: run "
        "`python -m datatrendz_pipelines.warehouse.sources_yaml`"
    )


def test_every_contract_table_and_column_is_described() -> None:
    contracts = load_contracts()
    document = yaml.safe_load(render_sources_yaml(contracts))
    (source,) = document["sources"]
    assert (source["name"], source["schema"]) == ("raw", "raw")
    tables = {table["name"]: table for table in source["tables"]}
    assert list(tables) == list(contracts)
    for name, contract in contracts.items():
        columns = {c["name"]: c for c in tables[name]["columns"]}
        assert list(columns) == [*contract.column_names, *(n for n, _, _ in LOAD_COLUMNS)]
        for column in contract.columns:
            assert columns[column.name]["description"] == " ".join(column.description.split())
            assert columns[column.name]["data_type"] == column.type.lower()
        assert tables[name]["description"]
