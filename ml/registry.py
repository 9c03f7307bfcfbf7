"""MLflow registry glue: train, backtest, log, register, and move the champion/challenger aliases.

Promotion rule. Every new version gets `challenger`. It gets `champion` only if its backtest
MASE beats the current champion's MASE on the SAME cut-offs. The champion is loaded from the
registry (`models:/<name>@champion`) and its recipe (hyperparameters) is refitted at each of
the new cut-offs: its stored weights were trained on data that overlaps the new test windows,
so scoring them there would leak and would make any fresher model look worse. When the
recipe is identical to the new one the re-run would reproduce the same numbers (training is
deterministic), so it is skipped and the tie goes to the newer fit (same recipe, more data).
With no champion yet, the new version must beat the seasonal-naive baseline.
A worse model is registered and kept (as challenger), never promoted.

CLI: `python -m ml.registry rollback --task revenue --version 3 [--tracking-uri URI]`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

from ml.backtest import BASELINE, run_backtest
from ml.models import GBMParams, GlobalGBMForecaster
from ml.promotions import PromotionRecord
from ml.run_logging import log_training_run
from ml.tracking import (
    default_artifact_location,
    ensure_experiment,
    mlflow_uri,
    store_is_missing,
)

MODEL_NAMES = {"revenue": "datatrendz_revenue_forecaster", "demand": "datatrendz_demand_forecaster"}
CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of one `train_and_register` call (metrics are backtest figures)."""

    version: str
    run_id: str
    metrics: dict[str, float]
    promoted: bool
    previous_champion: str | None
    model_uri: str
    ui_url: str
    promotions: list[PromotionRecord] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _alias_version(client: Any, name: str, alias: str) -> str | None:
    """Version holding `alias`, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _current_champion(client: Any, name: str) -> str | None:
    return _alias_version(client, name, CHAMPION)


def _move(client, name, alias, version, previous, mase, base, run_id) -> PromotionRecord:
    client.set_registered_model_alias(name, alias, version)
    return PromotionRecord(name, version, alias, previous, version, mase, base, run_id)


def _champion_mase(history, params, champion_uri, cutoffs, n_threads) -> tuple[float, bool]:
    """(MASE of the champion's recipe on `cutoffs`, whether its recipe equals `params`)."""
    import mlflow

    champ = mlflow.pyfunc.load_model(champion_uri).unwrap_python_model().forecaster
    if champ.params == params:
        return float("nan"), True
    result = run_backtest(
        history,
        lambda: GlobalGBMForecaster(champ.params, n_threads=n_threads),
        horizon=params.horizon,
        cutoffs=cutoffs,
        baseline=False,
    )
    return result.overall("model")["mase"], False


def train_and_register(
    task: str,
    history: pd.DataFrame,
    tracking_uri: str,
    *,
    run_tags: dict[str, str] | None = None,
    params: GBMParams | None = None,
    n_cutoffs: int = 4,
    step: int = 28,
    cutoffs: list[pd.Timestamp] | None = None,
    n_threads: int | None = None,
    artifact_location: str | None = None,
    ui_base_url: str = "http://127.0.0.1:5000",
) -> TrainingResult:
    """Backtest, fit on all `history`, log one MLflow run, register, move aliases.

    `run_tags` go on the run (a `dagster_run_id` tag is copied into promotion records).
    `artifact_location` defaults to `mlartifacts/` beside a SQLite store.
    """
    import mlflow

    name, params, tags = MODEL_NAMES[task], params or GBMParams(), dict(run_tags or {})
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    bt = run_backtest(
        history,
        lambda: GlobalGBMForecaster(params, n_threads=n_threads),
        horizon=params.horizon,
        cutoffs=cutoffs,
        n_cutoffs=n_cutoffs,
        step=step,
    )
    seconds["backtest"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = GlobalGBMForecaster(params, n_threads=n_threads).fit(history)
    seconds["fit"] = time.perf_counter() - t0
    ours, base = bt.overall("model"), bt.overall(BASELINE)
    metrics = {f"model_{k}": v for k, v in ours.items()} | {
        f"baseline_{k}": v for k, v in base.items()
    }
    location = artifact_location or default_artifact_location(tracking_uri)
    with mlflow_uri(tracking_uri) as client:
        experiment = ensure_experiment(client, f"datatrendz/{task}", location)
        t0 = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment, tags={"task": task, **tags}) as run:
            info = log_training_run(model, history, bt, metrics, task, name)
            seconds["log"] = time.perf_counter() - t0
            version = str(info.registered_model_version)
            records, previous, promoted = _aliases(
                client,
                name,
                version,
                history,
                params,
                bt,
                ours["mase"],
                base["mase"],
                tags.get("dagster_run_id"),
                n_threads,
                metrics,
            )
            mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})
            mlflow.set_tags({"promoted": str(promoted), "registered_version": version})
            mlflow.log_dict([r.as_dict() for r in records], "promotions.json")
        for key, value in {
            "mase": ours["mase"],
            "baseline_mase": base["mase"],
            "cutoffs": ",".join(str(c.date()) for c in bt.cutoffs),
            "promoted": str(promoted),
        }.items():
            client.set_model_version_tag(name, version, key, str(value))
    return TrainingResult(
        version,
        run.info.run_id,
        metrics,
        promoted,
        previous,
        f"models:/{name}/{version}",
        f"{ui_base_url}/#/experiments/{experiment}/runs/{run.info.run_id}",
        records,
        seconds,
    )


def _aliases(client, name, version, history, params, bt, mase, base, run_id, n_threads, metrics):
    """Move `challenger` (always) and `champion` (if earned); returns (records, previous, promoted)."""
    previous = _current_champion(client, name)
    prev_challenger = _alias_version(client, name, CHALLENGER)
    records = [_move(client, name, CHALLENGER, version, prev_challenger, mase, base, run_id)]
    if previous is None:
        promoted = mase < base
    else:
        champ_mase, same = _champion_mase(
            history, params, f"models:/{name}@{CHAMPION}", bt.cutoffs, n_threads
        )
        metrics["champion_mase"] = mase if same else champ_mase
        promoted = same or mase < champ_mase
    if promoted:
        records.append(_move(client, name, CHAMPION, version, previous, mase, base, run_id))
    return records, previous, promoted


def rollback(
    task: str, version: str | int, tracking_uri: str, *, dagster_run_id: str | None = None
) -> PromotionRecord:
    """Point `champion` of `task`'s model at an existing `version`; returns the alias move."""
    name = MODEL_NAMES[task]
    with mlflow_uri(tracking_uri) as client:
        target = client.get_model_version(name, str(version))
        previous = _current_champion(client, name)
        tags = target.tags or {}
        mase = float(tags["mase"]) if "mase" in tags else None
        base = float(tags["baseline_mase"]) if "baseline_mase" in tags else None
        return _move(client, name, CHAMPION, str(version), previous, mase, base, dagster_run_id)


def load_champion(task: str, tracking_uri: str) -> tuple[str, Any] | None:
    """(version, pyfunc model) of `task`'s champion, or None when it has none.

    Loading a model takes most of a forecast (0.4 s each, skops reading every booster), so a
    process keeps the models it loaded, by the artifact they were loaded from: asked again
    while the champion is the same version, it answers from memory."""
    if store_is_missing(tracking_uri):
        return None
    with mlflow_uri(tracking_uri) as client:
        version = _current_champion(client, MODEL_NAMES[task])
        if version is None:
            return None
        source = client.get_model_version_download_uri(MODEL_NAMES[task], version)
        return version, _load_model(source)


@cache
def _load_model(source: str) -> Any:
    import mlflow

    return mlflow.pyfunc.load_model(source)


def champion_version(task: str, tracking_uri: str) -> str | None:
    """Version currently holding `champion`, or None."""
    if store_is_missing(tracking_uri):
        return None
    with mlflow_uri(tracking_uri) as client:
        return _current_champion(client, MODEL_NAMES[task])


if __name__ == "__main__":
    from ml.registry_cli import main

    raise SystemExit(main())
