"""Great Expectations suites built from the source contracts (GX Core 1.x).

One expectation per contract rule, plus a column-presence check and one type check per contract
column. The contract's rules are the single source of truth: the DuckDB quarantine step and this
suite are two readings of the same `Contract.rules`.

`great_expectations` is imported inside the functions: it costs seconds to import and the Dagster
code location must load without it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from datatrendz_pipelines.contracts import Contract, Rule

if TYPE_CHECKING:
    import great_expectations as gx
    import pandas as pd

COLUMNS_PRESENT = "columns_present"

# GX 1.24 re-serialises every expectation's kwargs thousands of times per validation, so a
# value_set costs ~0.15 ms per value whatever the row count (measured: 5k keys +1 s, 333k keys
# +32 s). A larger reference set is checked through a derived column instead (see below).
MAX_IN_SET_VALUES = 5_000

# Contract type -> the numpy scalar type `ExpectColumnValuesToBeOfType` compares with
# `dtype.type` on pandas. That comparison ignores nullability and datetime units: "int64" matches
# both int64 and the nullable Int64 that `frame_from_duckdb` produces, "datetime64" any unit,
# "bool" both bool and boolean, "str" pandas 3's "str" dtype. (`ExpectColumnValuesToBeInTypeList`
# is stricter and, in GX 1.24, matches no spelling of pandas 3's "str" dtype: do not use it.)
# INTEGER is int64 and DECIMAL and DATE are float64 and datetime64[us] because
# `frame_from_duckdb` converts them.
PANDAS_SCALAR_TYPES = {
    "VARCHAR": "str",
    "INTEGER": "int64",
    "BIGINT": "int64",
    "DOUBLE": "float64",
    "DECIMAL": "float64",
    "DATE": "datetime64",
    "TIMESTAMP": "datetime64",
    "BOOLEAN": "bool",
}


def pandas_scalar_type(contract_type: str) -> str:
    """The `type_` to expect for a contract column type such as "DECIMAL(12,2)"."""
    return PANDAS_SCALAR_TYPES[contract_type.split("(")[0]]


def is_blocking(contract: Contract, rule: Rule) -> bool:
    """Key rules block: an unconditional not-null on a key column, or uniqueness of the key."""
    if rule.condition is not None:
        return False
    if rule.kind == "unique":
        return tuple(rule.columns) == tuple(contract.primary_key)
    return rule.kind == "not_null" and set(rule.columns) <= set(contract.primary_key)


def reference_key(rule: Rule) -> str:
    """The `reference_values` key a 'references' rule looks up: "<source>.<column>"."""
    source, column = rule.value
    return f"{source}.{column}"


def unknown_keys_column(rule: Rule) -> str:
    """Derived column holding the values of a 'references' rule's column missing from its set."""
    return f"_unknown_{rule.name}"


def reference_columns(
    contract: Contract, frame: pd.DataFrame, reference_values: Mapping[str, Collection] | None
) -> dict[str, pd.Series]:
    """The derived columns `validate_frame` adds for reference sets above MAX_IN_SET_VALUES:
    the column's value where it is not a known key, else null (expected all null)."""
    derived = {}
    for rule in contract.rules:
        known = (
            (reference_values or {}).get(reference_key(rule)) if rule.kind == "references" else None
        )
        if known is not None and len(known) > MAX_IN_SET_VALUES and rule.columns[0] in frame:
            values = frame[rule.columns[0]]
            derived[unknown_keys_column(rule)] = values.where(~values.isin(list(known)))
    return derived


def _row_condition(rule: Rule) -> Any:
    """The rule's condition as a GX 1.x Condition object (string conditions are deprecated)."""
    if rule.condition is None:
        return None
    from great_expectations.expectations.row_conditions import Column

    column = Column(rule.condition.column)
    if rule.condition.equals is None:
        return column.is_not_null()
    return column == rule.condition.equals


def _meta(rule: str, blocking: bool, **extra: Any) -> dict[str, Any]:
    from great_expectations.expectations.metadata_types import FailureSeverity

    severity = FailureSeverity.CRITICAL if blocking else FailureSeverity.WARNING
    return {"meta": {"rule": rule, "blocking": blocking, **extra}, "severity": severity}


def rule_expectation(
    contract: Contract, rule: Rule, reference_values: Mapping[str, Collection] | None = None
) -> Any | None:
    """The GX expectation checking one rule, or None when it cannot be checked here.

    A 'references' rule is checked only when `reference_values` holds its "<source>.<column>"
    key (the set of known keys); otherwise it is left to the warehouse and skipped. Above
    MAX_IN_SET_VALUES keys it expects the derived `reference_columns` column to be null.
    """
    import great_expectations.expectations as gxe

    blocking = is_blocking(contract, rule)
    common: dict[str, Any] = _meta(rule.name, blocking, kind=rule.kind)
    if rule.description:
        common["description"] = rule.description
    condition = _row_condition(rule)
    if condition is not None:
        common["row_condition"] = condition
    column = rule.columns[0]
    match rule.kind:
        case "not_null":
            return gxe.ExpectColumnValuesToNotBeNull(column=column, **common)
        case "min":
            return gxe.ExpectColumnValuesToBeBetween(column=column, min_value=rule.value, **common)
        case "max":
            return gxe.ExpectColumnValuesToBeBetween(column=column, max_value=rule.value, **common)
        case "accepted_values":
            return gxe.ExpectColumnValuesToBeInSet(
                column=column, value_set=list(rule.value), **common
            )
        case "pattern":
            # GX uses `str.contains` on pandas: a search, like DuckDB's regexp_matches; the
            # contract patterns are anchored with ^...$ where they mean the whole value.
            return gxe.ExpectColumnValuesToMatchRegex(column=column, regex=rule.value, **common)
        case "references":
            known = (reference_values or {}).get(reference_key(rule))
            if known is None:
                return None
            if len(known) <= MAX_IN_SET_VALUES:
                return gxe.ExpectColumnValuesToBeInSet(
                    column=column, value_set=list(known), **common
                )
            common["meta"]["column"] = column
            return gxe.ExpectColumnValuesToBeNull(column=unknown_keys_column(rule), **common)
        case "unique":
            # Per delivery day, as the quarantine SQL does: change files repeat a key on later days.
            return gxe.ExpectCompoundColumnsToBeUnique(
                column_list=[*rule.columns, "_partition_date"], **common
            )
    raise ValueError(f"rule {rule.name!r} has unknown kind {rule.kind!r}")


def structural_expectations(contract: Contract) -> list[Any]:
    """Column presence (extra columns allowed, e.g. lineage) and one type check per column."""
    import great_expectations.expectations as gxe

    expectations: list[Any] = [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(contract.column_names),
            exact_match=False,
            **_meta(COLUMNS_PRESENT, True),
        )
    ]
    for col in contract.columns:
        expectations.append(
            gxe.ExpectColumnValuesToBeOfType(
                column=col.name,
                type_=pandas_scalar_type(col.type),
                **_meta(f"{col.name}_type", True, contract_type=col.type),
            )
        )
    return expectations


def build_suite(
    contract: Contract, *, reference_values: Mapping[str, Collection] | None = None
) -> gx.ExpectationSuite:
    """The expectation suite of one source, named after it, derived from `contract.rules`.

    Each expectation's `meta` holds `rule` (the contract rule name, or "columns_present" /
    "<column>_type") and `blocking`; blocking ones also carry GX severity "critical".
    """
    import great_expectations as gx

    expectations = structural_expectations(contract)
    for rule in contract.rules:
        expectation = rule_expectation(contract, rule, reference_values)
        if expectation is not None:
            expectations.append(expectation)
    return gx.ExpectationSuite(name=contract.source, expectations=expectations)
