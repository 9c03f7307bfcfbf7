"""Shared fixtures: every test gets its own DATATRENDZ_HOME, warehouse and Dagster instance."""

from __future__ import annotations

from pathlib import Path

import pytest

from datatrendz_pipelines.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    home = tmp_path / "home"
    monkeypatch.setenv("DATATRENDZ_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("DATATRENDZ_PARTITIONS_START", "2024-01-01")
    for var in (
        "DATATRENDZ_LANDING_DIR",
        "DATATRENDZ_ARCHIVE_DIR",
        "DATATRENDZ_REJECTED_DIR",
        "DATATRENDZ_WAREHOUSE_PATH",
        "DATATRENDZ_LAKE_DIR",
        "MLFLOW_TRACKING_URI",
    ):
        monkeypatch.delenv(var, raising=False)
    return Settings.from_env()
