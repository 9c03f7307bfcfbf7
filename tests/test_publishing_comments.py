"""Table and column descriptions come from dbt's manifest."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from datatrendz_pipelines.publishing.comments import TableComments, comments_from_dbt_manifest


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.json"
    node = {
        "resource_type": "model",
        "name": "kpi_daily_sales",
        "description": " Revenue and orders per day and store. ",
        "columns": {
            "sales_date": {"name": "sales_date", "description": "Business day (store time)."},
            "revenue": {"name": "revenue", "description": "Net revenue, EUR."},
            "store_id": {"name": "store_id", "description": ""},
        },
    }
    other = {"resource_type": "model", "name": "dim_stores", "description": "", "columns": {}}
    path.write_text(
        json.dumps(
            {"nodes": {"model.datatrendz.kpi_daily_sales": node, "model.shop.dim_stores": other}}
        )
    )
    return path


def test_reads_table_and_column_descriptions(manifest: Path) -> None:
    assert comments_from_dbt_manifest(manifest, "kpi_daily_sales") == TableComments(
        "Revenue and orders per day and store.",
        {"sales_date": "Business day (store time).", "revenue": "Net revenue, EUR."},
    )


def test_finds_a_model_of_another_project_by_name(manifest: Path) -> None:
    assert comments_from_dbt_manifest(manifest, "dim_stores") == TableComments("", {})


def test_missing_model_or_manifest_is_an_error(manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="kpi_missing"):
        comments_from_dbt_manifest(manifest, "kpi_missing")
    with pytest.raises(FileNotFoundError, match="dbt parse"):
        comments_from_dbt_manifest(tmp_path / "nope.json", "kpi_daily_sales")


def test_a_rewritten_manifest_is_read_again(manifest: Path) -> None:
    assert comments_from_dbt_manifest(manifest, "dim_stores").table == ""
    data = json.loads(manifest.read_text())
    data["nodes"]["model.shop.dim_stores"]["description"] = "Stores and the web shop."
    before = manifest.stat().st_mtime_ns
    manifest.write_text(json.dumps(data))
    os.utime(manifest, ns=(before + 1_000_000, before + 1_000_000))  # a later version
    assert comments_from_dbt_manifest(manifest, "dim_stores").table == "Stores and the web shop."
