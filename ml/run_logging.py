"""What one training run logs to MLflow: params, data window, backtest, plot, importances, model."""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from ml.backtest import BacktestResult, plot_backtest
from ml.models import GlobalGBMForecaster
from ml.tracking import ML_DIR, PYFUNC_FILE, input_example, log_frame, pip_requirements, signature


def log_training_run(
    model: GlobalGBMForecaster,
    history: pd.DataFrame,
    bt: BacktestResult,
    metrics: dict,
    task: str,
    name: str,
) -> Any:
    """Log params, data window, backtest tables, plot, importances and the model."""
    import mlflow

    from ml.importance import permutation_importances
    from ml.persist import save_forecaster

    mlflow.log_params(
        {
            **asdict(model.params),
            "n_cutoffs": len(bt.cutoffs),
            "cutoffs": ",".join(str(c.date()) for c in bt.cutoffs),
        }
    )
    mlflow.log_params(
        {
            "data_first_date": str(history["date"].min().date()),
            "data_last_date": str(history["date"].max().date()),
            "data_series": int(history["series_id"].nunique()),
            "data_rows": len(history),
        }
    )
    mlflow.log_metrics({k: v for k, v in metrics.items() if v == v})
    log_frame(bt.metrics, "backtest_metrics.csv")
    log_frame(bt.forecasts, "backtest_forecasts.csv")
    log_frame(permutation_importances(model, history), "feature_importance.csv")
    with tempfile.TemporaryDirectory() as tmp:
        plot = plot_backtest(bt, Path(tmp) / "backtest.png", title=f"{task} backtest")
        mlflow.log_artifact(str(plot))
        artifacts = save_forecaster(model, Path(tmp) / "forecaster")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(PYFUNC_FILE),
            artifacts={"forecaster": str(artifacts)},
            code_paths=[str(ML_DIR)],
            signature=signature(model.params.horizon),
            input_example=(input_example(history), {"horizon": model.params.horizon}),
            pip_requirements=pip_requirements(),
            registered_model_name=name,
        )
