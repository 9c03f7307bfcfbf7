"""Render the source contracts as Markdown (docs/contracts.md), so the documentation a user
reads is generated from the same files the pipeline enforces.

    python -m datatrendz_pipelines.contracts.docs > docs/contracts.md
"""

from __future__ import annotations

from datatrendz_pipelines.contracts import Column, Contract, Rule, load_contracts


def _column_rules(column: Column) -> str:
    parts = []
    if not column.nullable:
        parts.append("required")
    if column.min is not None:
        parts.append(f"≥ {column.min}")
    if column.max is not None:
        parts.append(f"≤ {column.max}")
    if column.accepted_values is not None:
        parts.append("one of " + ", ".join(f"`{v}`" for v in column.accepted_values))
    if column.pattern is not None:
        parts.append(f"matches `{column.pattern}`")
    if column.references is not None:
        parts.append(f"exists in `{column.references[0]}.{column.references[1]}`")
    if column.warn_only:
        parts.append("(" + ", ".join(sorted(column.warn_only)) + " only warns)")
    if column.pii:
        parts.append("**personal data**")
    return "; ".join(parts)


def _rule_line(rule: Rule) -> str:
    condition = f" when {rule.condition.sql()}" if rule.condition else ""
    severity = "" if rule.severity == "error" else " (warns only)"
    return f"- `{rule.name}`: {rule.description or rule.kind}{condition}{severity}"


def render_contract(contract: Contract) -> str:
    lines = [
        f"## `{contract.source}`",
        "",
        contract.description,
        "",
        f"- kind: {contract.kind}; {'**required**' if contract.required else 'optional'}",
        f"- primary key: {', '.join(f'`{k}`' for k in contract.primary_key)}",
    ]
    if contract.volume:
        v = contract.volume
        lines.append(
            f"- daily volume: warns outside {v.min_ratio}x-{v.max_ratio}x the average of the "
            f"previous {v.window_days} days"
        )
    lines += ["", "| column | type | rules | description |", "|---|---|---|---|"]
    for column in contract.columns:
        lines.append(
            f"| `{column.name}` | {column.type} | {_column_rules(column)} | {column.description} |"
        )
    explicit = [r for r in contract.rules if r.description]
    if explicit:
        lines += ["", "Row rules:", *(_rule_line(r) for r in explicit)]
    return "\n".join(lines)


def render_all() -> str:
    header = (
        "# Source contracts\n\n"
        "Generated from `datatrendz_pipelines/contracts/*.yaml` by "
        "`python -m datatrendz_pipelines.contracts.docs`; edit the YAML, not this page.\n\n"
        "A file meets its contract when it has a header (CSV) or keys (JSON lines) or columns "
        "(Parquet) named as below: every required column present, no unknown column (optional "
        "columns may be left out). Values are cast to the types below; a value that cannot be "
        "cast, or a row that breaks a rule, is quarantined with the reason. Dates are "
        "`YYYY-MM-DD`, timestamps `YYYY-MM-DD HH:MM:SS` in UTC, booleans `true`/`false`, "
        "decimals with a dot.\n"
    )
    return header + "\n" + "\n\n".join(render_contract(c) for c in load_contracts().values()) + "\n"


if __name__ == "__main__":
    print(render_all(), end="")
