"""Metadata a person reads at a glance in the Dagster UI: previews and table schemas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dagster as dg
import duckdb

from datatrendz_pipelines.contracts import Contract


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def preview(
    conn: duckdb.DuckDBPyConnection, sql: str, params: Any = None, limit: int = 5
) -> dg.MetadataValue:
    """The first rows of a query as a Markdown table."""
    result = conn.execute(f"SELECT * FROM ({sql}) LIMIT {int(limit)}", params)
    columns = [d[0] for d in result.description]
    return dg.MetadataValue.md(markdown_table(columns, result.fetchall()))


def contract_schema(contract: Contract) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.type,
                description=(c.description + (" (personal data)" if c.pii else "")).strip(),
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in contract.columns
        ]
    )
