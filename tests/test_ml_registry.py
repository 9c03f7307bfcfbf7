"""MLflow registry: champion/challenger rules, load by alias, rollback, promotion history.

Runs against a SQLite store and against a database created on the machine's PostgreSQL
(skipped only when the server is unreachable).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from ml.forecast import forecast_with_champion
from ml.models import GBMParams, GlobalGBMForecaster
from ml.promotions import champion_on, record_promotions
from ml.registry import (
    CHALLENGER,
    CHAMPION,
    MODEL_NAMES,
    champion_version,
    load_champion,
    rollback,
    train_and_register,
)
from ml.registry_cli import main
from ml.synthetic import make_history
from ml.tracking import store_is_missing

GOOD = GBMParams(bucket_days=28, max_iter=60, quantile_max_iter=30)
CRIPPLED = GBMParams(bucket_days=28, max_iter=1, quantile_max_iter=1, learning_rate=0.01)
PG_URL = os.environ.get(
    "DATATRENDZ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return make_history(n_series=6, n_days=400, start="2023-06-01", seed=7)


@pytest.fixture
def postgres_uri(tmp_path: Path) -> Iterator[str]:
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(PG_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    db = f"mlflow_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'create database "{db}"')
    base = PG_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg2://", 1)
    try:
        yield f"{base}/{db}"
    finally:
        admin.execute(f'drop database if exists "{db}" with (force)')
        admin.close()


def _check_lifecycle(uri: str, history: pd.DataFrame, artifacts: Path, warehouse: Path) -> None:
    name = MODEL_NAMES["revenue"]
    kw = {"n_cutoffs": 2, "n_threads": 1, "artifact_location": artifacts.as_uri()}
    first = train_and_register(
        "revenue", history, uri, run_tags={"dagster_run_id": "r1"}, params=GOOD, **kw
    )
    assert first.version == "1" and first.promoted and first.previous_champion is None
    assert first.metrics["model_mase"] < first.metrics["baseline_mase"]
    assert [(r.alias, r.to_version) for r in first.promotions] == [
        (CHALLENGER, "1"),
        (CHAMPION, "1"),
    ]
    assert first.promotions[1].dagster_run_id == "r1"

    worse = train_and_register("revenue", history, uri, run_tags={}, params=CRIPPLED, **kw)
    assert worse.version == "2" and not worse.promoted and worse.previous_champion == "1"
    assert worse.metrics["model_mase"] > worse.metrics["champion_mase"]
    assert [(r.alias, r.from_version, r.to_version) for r in worse.promotions] == [
        (CHALLENGER, "1", "2")
    ]
    assert champion_version("revenue", uri) == "1"

    # The champion from the registry predicts exactly what the in-memory model predicts.
    expected = GlobalGBMForecaster(GOOD, n_threads=1).fit(history).predict(history, 28)
    served = forecast_with_champion("revenue", history, uri)
    assert (served["model_version"] == "1").all()
    np.testing.assert_allclose(served["yhat"], expected["yhat"], rtol=1e-9)
    np.testing.assert_allclose(served["yhat_upper"], expected["yhat_upper"], rtol=1e-9)

    # Loaded once per process and version: asked again, the same model; a new champion, its own.
    version, model = load_champion("revenue", uri)
    assert version == "1" and load_champion("revenue", uri)[1] is model

    back = rollback("revenue", 2, uri)
    assert (back.from_version, back.to_version) == ("1", "2")
    assert champion_version("revenue", uri) == "2"
    version, after = load_champion("revenue", uri)
    assert version == "2" and after is not model
    records = [*first.promotions, *worse.promotions, back]
    with duckdb.connect(str(warehouse)) as conn:
        assert record_promotions(conn, records) == 4
        rows = conn.execute(
            "select alias, from_version, to_version from ml.model_promotions order by promoted_at"
        ).fetchall()
        assert rows == [
            (CHALLENGER, None, "1"),
            (CHAMPION, None, "1"),
            (CHALLENGER, "1", "2"),
            (CHAMPION, "1", "2"),
        ]
        assert champion_on(conn, name, pd.Timestamp.now("UTC").tz_localize(None)) == "2"
    assert (
        main(
            [
                "rollback",
                "--task",
                "revenue",
                "--version",
                "1",
                "--tracking-uri",
                uri,
                "--duckdb",
                str(warehouse),
            ]
        )
        == 0
    )
    assert champion_version("revenue", uri) == "1"


def test_a_store_not_created_yet_has_no_champion_and_stays_uncreated(tmp_path: Path):
    # A daily run before the first training asks for champions; MLflow would create and
    # migrate a new SQLite store (seconds) to say there are none.
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert champion_version("revenue", uri) is None
    assert load_champion("demand", uri) is None
    assert not (tmp_path / "mlflow.db").exists()
    assert not store_is_missing("sqlite:///:memory:")
    assert not store_is_missing("postgresql+psycopg2://postgres@127.0.0.1:5432/mlflow")


def test_registry_lifecycle_sqlite(history: pd.DataFrame, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    _check_lifecycle(uri, history, tmp_path / "artifacts", tmp_path / "wh.duckdb")
    assert not list((tmp_path / "artifacts").rglob("*.pkl"))
    assert list((tmp_path / "artifacts").rglob("*.skops"))


@pytest.mark.postgres
def test_registry_lifecycle_postgres(
    history: pd.DataFrame, postgres_uri: str, tmp_path: Path
) -> None:
    _check_lifecycle(postgres_uri, history, tmp_path / "artifacts", tmp_path / "wh.duckdb")
