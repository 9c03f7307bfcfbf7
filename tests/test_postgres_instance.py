"""The deployment instance (the repository's dagster.yaml) on PostgreSQL through DAGSTER_PG_*."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from datatrendz_pipelines.postgres_instance import PG_DEFAULTS, pg_settings, postgres_url
from datatrendz_pipelines.settings import PROJECT_ROOT
from tests.conftest import POSTGRES_URL


def test_unset_parts_default_to_the_machine_server_and_the_url_quotes_the_password():
    settings = pg_settings({"DAGSTER_PG_HOST": "db.internal", "DAGSTER_PG_PASSWORD": "p@ss w"})
    assert settings == PG_DEFAULTS | {
        "DAGSTER_PG_HOST": "db.internal",
        "DAGSTER_PG_PASSWORD": "p@ss w",
    }
    assert postgres_url(settings) == (
        "postgresql+psycopg2://postgres:p%40ss%20w@db.internal:5432/datatrendz_dagster"
    )


def _pg_env(database: str) -> dict[str, str]:
    pg = psycopg.conninfo.conninfo_to_dict(POSTGRES_URL)
    return {
        "DAGSTER_PG_HOST": str(pg.get("host", "127.0.0.1")),
        "DAGSTER_PG_PORT": str(pg.get("port", "5432")),
        "DAGSTER_PG_USER": str(pg.get("user", "postgres")),
        "DAGSTER_PG_PASSWORD": str(pg.get("password", "")),
        "DAGSTER_PG_DB": database,
    }


def test_dagster_cli_in_the_checkout_without_dagster_home_loads_the_deployment_instance(
    settings, tmp_path: Path
):
    # The CLI's temporary instance reads the checkout's dagster.yaml: it creates the database.
    database = f"datatrendz_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {error}")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"} | _pg_env(database)
    with admin:
        try:
            done = subprocess.run(
                [
                    str(Path(sys.executable).with_name("dagster")),
                    "definitions",
                    "validate",
                    "-w",
                    "workspace.yaml",
                ],
                cwd=PROJECT_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, done.stderr[-3000:]
            assert "All code locations passed validation" in done.stderr + done.stdout
            created = admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [database]
            ).fetchall()
            assert created
            with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + f"/{database}") as conn:
                tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
            assert {"runs", "event_logs", "jobs"} <= tables
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
