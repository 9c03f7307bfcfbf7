"""The deployment instance's storage: dagster-postgres, connected through DAGSTER_PG_* with defaults.

`dagster.yaml` could name each part of the connection as `{env: DAGSTER_PG_HOST}`, but Dagster's
config has no default for an unset variable, and the Dagster CLI run in the checkout without
DAGSTER_HOME (`dagster definitions validate`, `dagster asset list`) builds a temporary instance
from the checkout's `dagster.yaml`: it stopped on the first unset variable. This class reads the
same variables, falling back to the machine's server (PG_DEFAULTS, as `make serve` does), creates
the database when it is missing and the server lets it, and is otherwise DagsterPostgresStorage.
The password comes only from the environment.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Any

from dagster._serdes import ConfigurableClassData
from dagster_postgres import DagsterPostgresStorage
from dagster_postgres.utils import get_conn_string

PG_DEFAULTS = {
    "DAGSTER_PG_HOST": "127.0.0.1",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "postgres",
    "DAGSTER_PG_PASSWORD": "",
    "DAGSTER_PG_DB": "datatrendz_dagster",
}
# SQLAlchemy 2.1 maps a plain postgresql:// URL to psycopg 3, which dagster-postgres's NOTIFY
# statements do not support; psycopg2 is the driver it is tested with.
SCHEME = "postgresql+psycopg2"


def pg_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The DAGSTER_PG_* parts from `environ`, PG_DEFAULTS where unset."""
    return {var: environ.get(var, default) for var, default in PG_DEFAULTS.items()}


def postgres_url(settings: Mapping[str, str]) -> str:
    return get_conn_string(
        username=settings["DAGSTER_PG_USER"],
        password=settings["DAGSTER_PG_PASSWORD"],
        hostname=settings["DAGSTER_PG_HOST"],
        db_name=settings["DAGSTER_PG_DB"],
        port=settings["DAGSTER_PG_PORT"],
        scheme=SCHEME,
    )


def ensure_database(settings: Mapping[str, str]) -> bool:
    """Create the DAGSTER_PG_DB database when it is missing. True if it was created."""
    import psycopg
    from psycopg import sql

    params = dict(
        host=settings["DAGSTER_PG_HOST"],
        port=settings["DAGSTER_PG_PORT"],
        user=settings["DAGSTER_PG_USER"],
        password=settings["DAGSTER_PG_PASSWORD"] or None,
        connect_timeout=10,
    )
    name = settings["DAGSTER_PG_DB"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchall()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


class EnvPostgresStorage(DagsterPostgresStorage):
    """DagsterPostgresStorage on the database DAGSTER_PG_* name (defaults: PG_DEFAULTS).

    In dagster.yaml:

        storage:
          custom:
            module: datatrendz_pipelines.postgres_instance
            class: EnvPostgresStorage
    """

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]
    ) -> EnvPostgresStorage:
        settings = pg_settings(os.environ)
        # Without the right to create it, the storage's own connection says what is wrong.
        with contextlib.suppress(Exception):
            ensure_database(settings)
        return cls(postgres_url=postgres_url(settings), inst_data=inst_data)
