"""Source contracts: the one place that says what each source's files must hold.

Every `<source>.yaml` beside this module declares a source's columns (with types), keys,
foreign keys, row rules and personal-data flags. Ingestion casts to these types, the quality
gate builds its suites and quarantine SQL from these rules, and the README documents them.
A contract that is malformed fails when it is loaded, with the file and field at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml

CONTRACTS_DIR = Path(__file__).parent

_SIMPLE_TYPES = {"VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "DATE", "TIMESTAMP", "BOOLEAN"}
_DECIMAL = re.compile(r"^DECIMAL\((\d{1,2}),(\d{1,2})\)$")
_COLUMN_KEYS = {
    "name",
    "type",
    "nullable",
    "description",
    "min",
    "max",
    "accepted_values",
    "pattern",
    "references",
    "pii",
    "warn_only",
}
_RULE_KEYS = {
    "name",
    "column",
    "description",
    "nullable",
    "min",
    "max",
    "accepted_values",
    "pattern",
    "when",
    "when_not_null",
    "warn_only",
}
_CONTRACT_KEYS = {
    "source",
    "description",
    "kind",
    "required",
    "primary_key",
    "columns",
    "rules",
    "volume",
}
_VOLUME_KEYS = {"window_days", "min_ratio", "max_ratio"}

RuleKind = Literal["not_null", "min", "max", "accepted_values", "pattern", "references", "unique"]
RULE_KINDS: tuple[str, ...] = RuleKind.__args__


class ContractError(ValueError):
    """A contract file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    min: float | None = None
    max: float | None = None
    accepted_values: tuple[Any, ...] | None = None
    pattern: str | None = None
    references: tuple[str, str] | None = None  # (source, column)
    pii: bool = False
    warn_only: frozenset[str] = frozenset()  # rule kinds that warn instead of quarantining rows


@dataclass(frozen=True)
class Condition:
    """Restricts a rule to rows where `column` equals `equals`, or is not null when `equals` is None."""

    column: str
    equals: Any = None

    def sql(self, alias: str = "") -> str:
        column = f'{alias}."{self.column}"' if alias else f'"{self.column}"'
        if self.equals is None:
            return f"{column} IS NOT NULL"
        return f"{column} = {sql_literal(self.equals)}"


@dataclass(frozen=True)
class Rule:
    """One checkable rule on a source's rows, derived from a column attribute or a `rules:` entry."""

    name: str
    source: str
    kind: RuleKind
    columns: tuple[str, ...]
    value: Any = None
    condition: Condition | None = None
    description: str = ""
    # error: a breaking row is quarantined; warn: it stays and the quality check warns.
    severity: Literal["error", "warn"] = "error"


@dataclass(frozen=True)
class VolumeBand:
    """A day's row count should lie within [min_ratio, max_ratio] x the trailing average."""

    window_days: int = 28
    min_ratio: float = 0.5
    max_ratio: float = 2.0


@dataclass(frozen=True)
class Contract:
    source: str
    description: str
    kind: Literal["fact", "dimension"]
    required: bool
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    rules: tuple[Rule, ...] = field(default=())
    volume: VolumeBand | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def pii_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.pii)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"contract {self.source!r} has no column {name!r}")


def sql_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _fail(path: Path, where: str, message: str) -> ContractError:
    return ContractError(f"{path.name}: {where}: {message}")


def _check_keys(path: Path, where: str, got: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(got) - allowed)
    if unknown:
        raise _fail(path, where, f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")


def _check_type(path: Path, where: str, type_name: Any) -> str:
    if not isinstance(type_name, str):
        raise _fail(path, where, "`type` is missing")
    normalised = type_name.replace(" ", "").upper()
    if normalised in _SIMPLE_TYPES:
        return normalised
    match = _DECIMAL.match(normalised)
    if match and int(match[2]) <= int(match[1]):
        return normalised
    raise _fail(
        path,
        where,
        f"unknown type {type_name!r}; use one of {sorted(_SIMPLE_TYPES)} or DECIMAL(p,s)",
    )


def _parse_reference(path: Path, where: str, ref: Any) -> tuple[str, str]:
    if not isinstance(ref, str) or ref.count(".") != 1:
        raise _fail(path, where, f"`references` must be '<source>.<column>', got {ref!r}")
    source, column = ref.split(".")
    return source, column


def _parse_column(path: Path, raw: Any, index: int) -> Column:
    if not isinstance(raw, dict) or "name" not in raw:
        raise _fail(path, f"columns[{index}]", "each column needs at least `name` and `type`")
    where = f"column {raw['name']!r}"
    _check_keys(path, where, raw, _COLUMN_KEYS)
    if raw.get("pattern") is not None:
        try:
            re.compile(raw["pattern"])
        except re.error as exc:
            raise _fail(path, where, f"`pattern` is not a valid regular expression: {exc}") from exc
    accepted = raw.get("accepted_values")
    warn_only = raw.get("warn_only") or []
    unknown_kinds = sorted(set(warn_only) - set(RULE_KINDS))
    if unknown_kinds:
        raise _fail(
            path,
            where,
            f"`warn_only` names unknown rule kinds {unknown_kinds}; use {list(RULE_KINDS)}",
        )
    return Column(
        name=raw["name"],
        type=_check_type(path, where, raw.get("type")),
        nullable=bool(raw.get("nullable", True)),
        description=str(raw.get("description", "")).strip(),
        min=raw.get("min"),
        max=raw.get("max"),
        accepted_values=tuple(accepted) if accepted is not None else None,
        pattern=raw.get("pattern"),
        references=_parse_reference(path, where, raw["references"])
        if raw.get("references")
        else None,
        pii=bool(raw.get("pii", False)),
        warn_only=frozenset(warn_only),
    )


def _column_rules(
    source: str, col: Column, condition: Condition | None = None, prefix: str | None = None
) -> list[Rule]:
    base = prefix or f"{col.name}"
    rules: list[Rule] = []
    cols = (col.name,)
    if not col.nullable:
        rules.append(Rule(f"{base}_not_null", source, "not_null", cols, None, condition))
    if col.min is not None:
        rules.append(Rule(f"{base}_min", source, "min", cols, col.min, condition))
    if col.max is not None:
        rules.append(Rule(f"{base}_max", source, "max", cols, col.max, condition))
    if col.accepted_values is not None:
        rules.append(
            Rule(
                f"{base}_accepted_values",
                source,
                "accepted_values",
                cols,
                col.accepted_values,
                condition,
            )
        )
    if col.pattern is not None:
        rules.append(Rule(f"{base}_pattern", source, "pattern", cols, col.pattern, condition))
    if col.references is not None:
        rules.append(
            Rule(
                f"{base}_references_{col.references[0]}",
                source,
                "references",
                cols,
                col.references,
                condition,
            )
        )
    return [
        replace(rule, severity="warn") if rule.kind in col.warn_only else rule for rule in rules
    ]


def _parse_rule(
    path: Path, source: str, raw: Any, columns: dict[str, Column], index: int
) -> list[Rule]:
    if not isinstance(raw, dict) or "name" not in raw or "column" not in raw:
        raise _fail(path, f"rules[{index}]", "each rule needs `name` and `column`")
    where = f"rule {raw['name']!r}"
    _check_keys(path, where, raw, _RULE_KEYS)
    target = columns.get(raw["column"])
    if target is None:
        raise _fail(
            path, where, f"names column {raw['column']!r}, which the contract does not declare"
        )
    if "when" in raw and "when_not_null" in raw:
        raise _fail(path, where, "use either `when` or `when_not_null`, not both")
    condition: Condition | None = None
    if "when" in raw:
        when = raw["when"]
        if not isinstance(when, dict) or len(when) != 1:
            raise _fail(path, where, "`when` must be one `column: value` pair")
        ((cond_col, cond_val),) = when.items()
        condition = Condition(cond_col, cond_val)
    elif "when_not_null" in raw:
        condition = Condition(raw["when_not_null"], None)
    if condition is not None and condition.column not in columns:
        raise _fail(
            path,
            where,
            f"condition names column {condition.column!r}, which the contract does not declare",
        )
    checked = Column(
        name=target.name,
        type=target.type,
        nullable=bool(raw.get("nullable", True)),
        min=raw.get("min"),
        max=raw.get("max"),
        accepted_values=tuple(raw["accepted_values"]) if "accepted_values" in raw else None,
        pattern=raw.get("pattern"),
    )
    rules = _column_rules(source, checked, condition, prefix=raw["name"])
    if not rules:
        raise _fail(
            path, where, "declares no check (nullable, min, max, accepted_values or pattern)"
        )
    description = str(raw.get("description", "")).strip()
    severity = "warn" if raw.get("warn_only") else "error"
    return [
        replace(
            rule,
            name=rule.name if len(rules) > 1 else raw["name"],
            description=description,
            severity=severity,
        )
        for rule in rules
    ]


def parse_contract(path: Path) -> Contract:
    """Parse and validate one contract file; raise ContractError naming the file and field."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ContractError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ContractError(f"{path.name}: expected a mapping at the top level")
    _check_keys(path, "top level", raw, _CONTRACT_KEYS)
    source = raw.get("source")
    if source != path.stem:
        raise _fail(path, "source", f"must equal the file name {path.stem!r}, got {source!r}")
    if raw.get("kind") not in ("fact", "dimension"):
        raise _fail(path, "kind", f"must be 'fact' or 'dimension', got {raw.get('kind')!r}")
    if not raw.get("columns"):
        raise _fail(path, "columns", "a contract needs at least one column")
    columns = [_parse_column(path, c, i) for i, c in enumerate(raw["columns"])]
    by_name = {c.name: c for c in columns}
    if len(by_name) != len(columns):
        raise _fail(path, "columns", "a column name appears twice")
    primary_key = tuple(raw.get("primary_key") or ())
    if not primary_key:
        raise _fail(path, "primary_key", "every source needs a primary key")
    for key in primary_key:
        if key not in by_name:
            raise _fail(
                path, "primary_key", f"names column {key!r}, which the contract does not declare"
            )
    rules: list[Rule] = []
    for col in columns:
        rules.extend(_column_rules(source, col))
    rules.append(Rule(f"{'_'.join(primary_key)}_unique", source, "unique", primary_key))
    for i, raw_rule in enumerate(raw.get("rules") or []):
        rules.extend(_parse_rule(path, source, raw_rule, by_name, i))
    volume = None
    if raw.get("volume") is not None:
        _check_keys(path, "volume", raw["volume"], _VOLUME_KEYS)
        volume = VolumeBand(**raw["volume"])
    return Contract(
        source=source,
        description=" ".join(str(raw.get("description", "")).split()),
        kind=raw["kind"],
        required=bool(raw.get("required", False)),
        primary_key=primary_key,
        columns=tuple(columns),
        rules=tuple(rules),
        volume=volume,
    )


def _check_references(contracts: dict[str, Contract]) -> None:
    for contract in contracts.values():
        for col in contract.columns:
            if col.references is None:
                continue
            source, column = col.references
            target = contracts.get(source)
            if target is None or column not in target.column_names:
                raise ContractError(
                    f"{contract.source}.yaml: column {col.name!r}: references {source}.{column}, "
                    "which no contract declares"
                )


def load_contracts_from(directory: Path) -> dict[str, Contract]:
    contracts = {c.source: c for c in map(parse_contract, sorted(directory.glob("*.yaml")))}
    if not contracts:
        raise ContractError(f"no contract files (*.yaml) in {directory}")
    _check_references(contracts)
    return contracts


@cache
def load_contracts() -> dict[str, Contract]:
    """All source contracts shipped with the project, keyed by source name, in load order."""
    contracts = load_contracts_from(CONTRACTS_DIR)
    return {name: contracts[name] for name in SOURCE_ORDER if name in contracts} | contracts


# Dimensions first so that reference checks of a day see that day's dimension rows.
SOURCE_ORDER = (
    "stores",
    "products",
    "customers",
    "orders",
    "order_lines",
    "inventory_snapshots",
    "web_sessions",
    "marketing_spend",
)
