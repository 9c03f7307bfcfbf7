"""Source contracts: the shipped ones are complete, and a broken one fails at load time."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatrendz_pipelines.contracts import ContractError, load_contracts, load_contracts_from

EXPECTED_SOURCES = [
    "stores",
    "products",
    "customers",
    "orders",
    "order_lines",
    "inventory_snapshots",
    "web_sessions",
    "marketing_spend",
]


def test_every_source_has_a_contract_in_load_order():
    assert list(load_contracts()) == EXPECTED_SOURCES


def test_only_orders_and_order_lines_are_required():
    assert [c.source for c in load_contracts().values() if c.required] == ["orders", "order_lines"]


def test_personal_data_is_marked():
    assert load_contracts()["customers"].pii_columns == (
        "first_name",
        "last_name",
        "email",
        "phone",
        "street_address",
    )
    others = [c for name, c in load_contracts().items() if name != "customers"]
    assert all(not c.pii_columns for c in others)


def test_every_column_is_described_and_keys_are_not_nullable():
    for contract in load_contracts().values():
        for column in contract.columns:
            assert column.description, f"{contract.source}.{column.name}"
        for key in contract.primary_key:
            assert not contract.column(key).nullable, f"{contract.source}.{key}"


def test_returns_are_rules_not_faults():
    rules = {r.name: r for r in load_contracts()["order_lines"].rules}
    sale, ret = rules["sale_quantity_positive"], rules["return_quantity_negative"]
    assert (sale.kind, sale.value, sale.condition.sql()) == ("min", 1, "\"line_type\" = 'sale'")
    assert (ret.kind, ret.value, ret.condition.sql()) == ("max", -1, "\"line_type\" = 'return'")


def write_contracts(tmp_path: Path, orders_yaml: str) -> Path:
    (tmp_path / "orders.yaml").write_text(orders_yaml)
    return tmp_path


BASE = """\
source: orders
kind: fact
primary_key: [order_id]
columns:
  - {name: order_id, type: VARCHAR, nullable: false}
"""


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("  - {name: amount, type: MONEY}\n", "orders.yaml: column 'amount': unknown type 'MONEY'"),
        (
            "  - {name: amount, type: INTEGER, minimum: 0}\n",
            "column 'amount': unknown field(s) ['minimum']",
        ),
        (
            "  - {name: email, type: VARCHAR, pattern: '([a-z'}\n",
            "column 'email': `pattern` is not a valid regular expression",
        ),
        (
            "  - {name: store_id, type: VARCHAR, references: stores}\n",
            "`references` must be '<source>.<column>'",
        ),
        (
            "  - {name: store_id, type: VARCHAR, references: stores.store_id}\n",
            "references stores.store_id, which no contract declares",
        ),
        (
            "rules:\n  - {name: r1, column: missing_col, min: 0}\n",
            "rule 'r1': names column 'missing_col'",
        ),
        (
            "rules:\n  - {name: r2, column: order_id, minn: 0}\n",
            "rule 'r2': unknown field(s) ['minn']",
        ),
        (
            "rules:\n  - {name: r3, column: order_id, min: 0, when: {nope: x}}\n",
            "rule 'r3': condition names column 'nope'",
        ),
    ],
)
def test_a_broken_contract_names_the_file_and_field(tmp_path, extra, message):
    directory = write_contracts(tmp_path, BASE + extra)
    with pytest.raises(ContractError) as excinfo:
        load_contracts_from(directory)
    assert message in str(excinfo.value)


def test_a_primary_key_must_be_a_declared_column(tmp_path):
    directory = write_contracts(tmp_path, BASE.replace("[order_id]", "[order_no]"))
    with pytest.raises(ContractError, match="primary_key: names column 'order_no'"):
        load_contracts_from(directory)


def test_source_must_match_the_file_name(tmp_path):
    (tmp_path / "sales.yaml").write_text(BASE)
    with pytest.raises(
        ContractError, match=r"sales\.yaml: source: must equal the file name 'sales'"
    ):
        load_contracts_from(tmp_path)


def test_the_contracts_page_is_generated_from_the_contracts():
    from datatrendz_pipelines.contracts.docs import render_all
    from datatrendz_pipelines.settings import PROJECT_ROOT

    page = (PROJECT_ROOT / "docs" / "contracts.md").read_text()
    assert page == render_all(), (
        "run: python -m datatrendz_pipelines.contracts.docs > docs/contracts.md"
    )
