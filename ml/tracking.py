"""Low-level MLflow helpers: tracking URI scope, experiment, signature, requirements, logging.

mlflow is imported inside the functions (it costs seconds to import).
"""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

ML_DIR = Path(__file__).resolve().parent
PYFUNC_FILE = ML_DIR / "pyfunc_model.py"
_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy", "threadpoolctl")


@contextlib.contextmanager
def mlflow_uri(tracking_uri: str) -> Iterator[Any]:
    """Point MLflow's fluent API (tracking and registry) at `tracking_uri`, restore after.

    Yields an `MlflowClient` bound to that URI.
    """
    import mlflow
    from mlflow.tracking import _model_registry, _tracking_service

    old_tracking = _tracking_service.utils._tracking_uri
    old_registry = _model_registry.utils._registry_uri
    old_env = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    try:
        yield mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
    finally:
        mlflow.set_tracking_uri(old_tracking)
        _model_registry.utils._registry_uri = old_registry
        for key, value in old_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _sqlite_file(tracking_uri: str) -> Path | None:
    """The file of a `sqlite:///` store (its query string aside); None for any other store."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///").partition("?")[0])


def store_is_missing(tracking_uri: str) -> bool:
    """True when `tracking_uri` is a SQLite file that does not exist yet: a store with no model
    in it, which MLflow would create, and migrate to its schema in seconds, only to answer so."""
    db = _sqlite_file(tracking_uri)
    return db is not None and db != Path(":memory:") and not db.exists()


def default_artifact_location(tracking_uri: str) -> str | None:
    """`mlartifacts/` next to a SQLite store file; None (server default) otherwise."""
    db = _sqlite_file(tracking_uri)
    return None if db is None else (db.parent / "mlartifacts").resolve().as_uri()


def ensure_experiment(client: Any, name: str, artifact_location: str | None) -> str:
    """Id of experiment `name`, created (with `artifact_location`) when missing."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location)


def pip_requirements() -> list[str]:
    """Pinned runtime requirements of the logged model (explicit: no slow inference)."""
    return [f"{name}=={md.version(name)}" for name in _REQUIREMENTS]


def signature(horizon: int) -> Any:
    """Input: the history frame (exogenous columns optional); output: the forecast frame."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema

    inputs = Schema(
        [
            ColSpec("string", "series_id"),
            ColSpec("datetime", "date"),
            ColSpec("double", "y"),
            ColSpec("boolean", "is_holiday", required=False),
            ColSpec("double", "promo_share", required=False),
        ]
    )
    outputs = Schema(
        [
            ColSpec("string", "series_id"),
            ColSpec("datetime", "date"),
            *[ColSpec("double", c) for c in ("yhat", "yhat_lower", "yhat_upper")],
        ]
    )
    params = ParamSchema([ParamSpec("horizon", "long", horizon)])
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def input_example(history: pd.DataFrame, days: int = 42) -> pd.DataFrame:
    """The last `days` days of the first two series (enough for a forecast)."""
    first = sorted(history["series_id"].unique())[:2]
    last = history["date"].max() - pd.Timedelta(days=days - 1)
    rows = history[history["series_id"].isin(first) & (history["date"] >= last)]
    cols = [c for c in ("series_id", "date", "y", "is_holiday", "promo_share") if c in rows]
    out = rows[cols].reset_index(drop=True)
    return out.astype({"series_id": object})


def log_frame(frame: pd.DataFrame, name: str) -> None:
    """Log `frame` as a CSV artifact of the active run."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        frame.to_csv(path, index=False)
        mlflow.log_artifact(str(path))
