"""MLflow "models from code" entry point for the forecaster (no pickle anywhere).

MLflow copies this file into the logged model and runs it on load; `load_context` then
reads the skops/JSON artifacts written by `ml.persist`. The file imports mlflow at module
level because MLflow requires the class and `set_model` here; nothing in the `ml` package
imports it, so the Dagster code location never pays for that import.

Input: the history frame (see `ml.panel`); rows after the last non-null `y` may carry planned
`promo_share` / `is_holiday` for the forecast days. Param `horizon` (default: the trained
horizon). Output: DataFrame[series_id, date, yhat, yhat_lower, yhat_upper].
"""

from __future__ import annotations

import mlflow
import pandas as pd


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """Wraps a `GlobalGBMForecaster` loaded from the `forecaster` artifact directory."""

    def load_context(self, context) -> None:
        from ml.persist import load_forecaster

        self.forecaster = load_forecaster(context.artifacts["forecaster"])

    def predict(self, context, model_input, params=None) -> pd.DataFrame:
        from ml.panel import split_future

        horizon = int((params or {}).get("horizon") or self.forecaster.params.horizon)
        frame = pd.DataFrame(model_input)
        frame["date"] = pd.to_datetime(frame["date"])
        history, future = split_future(frame)
        return self.forecaster.predict(history, horizon, future=future)


mlflow.models.set_model(ForecasterModel())
