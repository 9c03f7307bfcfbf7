"""Shared fixtures: every test gets its own DATATRENDZ_HOME, warehouse and Dagster instance."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
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


POSTGRES_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """URL of a new, empty database on the test server, dropped afterwards."""
    import psycopg

    name = f"datatrendz_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(
            f"PostgreSQL not reachable at {POSTGRES_URL} (DATATRENDZ_TEST_POSTGRES_URL): {error}"
        )
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
