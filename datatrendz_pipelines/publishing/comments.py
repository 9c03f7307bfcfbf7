"""Descriptions for published tables, read from dbt's manifest so docs are written once."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True)
class TableComments:
    """The description of a table and of some of its columns (blank ones are left out)."""

    table: str
    columns: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=2)
def _manifest_nodes(path: str, _mtime_ns: int) -> dict:
    """The manifest's nodes, parsed once per version of the file (a run publishes a dozen
    tables from the same 1 MB manifest)."""
    return json.loads(Path(path).read_text(encoding="utf-8")).get("nodes", {})


def comments_from_dbt_manifest(
    manifest_path: str | Path, model_name: str, *, project: str = "datatrendz"
) -> TableComments:
    """Descriptions of dbt model `model_name` from `target/manifest.json`.

    Looks up the node `model.<project>.<model_name>` (any model of that name if the project is
    named differently). Raises FileNotFoundError without a manifest (run `dbt parse`) and
    KeyError when the model is not in it.
    """
    path = Path(manifest_path)
    if not path.is_file():
        raise FileNotFoundError(f"no dbt manifest at {path}: run `dbt parse` first")
    nodes = _manifest_nodes(str(path), path.stat().st_mtime_ns)
    node = nodes.get(f"model.{project}.{model_name}")
    if node is None:
        matches = [
            n
            for n in nodes.values()
            if n.get("resource_type") == "model" and n.get("name") == model_name
        ]
        if not matches:
            raise KeyError(f"dbt model {model_name!r} is not in {path}")
        node = matches[0]
    columns = {
        name: (column.get("description") or "").strip()
        for name, column in (node.get("columns") or {}).items()
    }
    return TableComments(
        table=(node.get("description") or "").strip(),
        columns={name: text for name, text in columns.items() if text},
    )
