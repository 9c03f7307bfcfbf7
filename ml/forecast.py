"""Forecast with the registered champion, and score past forecasts against actuals."""

from __future__ import annotations

import pandas as pd

from ml.metrics import add_errors


def forecast_with_champion(
    task: str, history: pd.DataFrame, tracking_uri: str, horizon: int = 28
) -> pd.DataFrame:
    """DataFrame[series_id, date, yhat, yhat_lower, yhat_upper, model_version].

    Loads `models:/<name>@champion` for `task` and forecasts `horizon` days after the last
    date of `history` (rows after it with y null may carry planned promo_share).
    """
    from ml.registry import load_champion

    champion = load_champion(task, tracking_uri)
    if champion is None:
        raise LookupError(f"no champion registered for task {task!r}")
    version, model = champion
    frame = history.astype({"series_id": object})
    out = model.predict(frame, params={"horizon": horizon})
    return out.assign(model_version=version)


def accuracy_report(forecasts_past: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Per forecast day: realised accuracy of stored forecasts (for monitoring).

    `forecasts_past`: [series_id, date, yhat, yhat_lower, yhat_upper] plus optional
    `model_version` / `forecast_origin` (kept as grouping keys). `actuals`: [series_id, date, y].
    Only days with an actual are scored. Returns one row per (date[, model_version,
    forecast_origin]) with n_series, y, yhat (sums), wape, bias, coverage.
    """
    keys = ["date", *[k for k in ("model_version", "forecast_origin") if k in forecasts_past]]
    joined = forecasts_past.merge(
        actuals[["series_id", "date", "y"]], on=["series_id", "date"], how="inner"
    )
    scored = add_errors(joined)
    grouped = scored.groupby(keys)
    abs_y = scored.assign(abs_y=scored["y"].abs()).groupby(keys)["abs_y"].sum()
    report = pd.DataFrame(
        {
            "n_series": grouped["series_id"].nunique(),
            "y": grouped["y"].sum(),
            "yhat": grouped["yhat"].sum(),
            "wape": grouped["abs_error"].sum() / abs_y.where(abs_y > 0),
            "bias": grouped["error"].sum() / abs_y.where(abs_y > 0),
            "coverage": grouped["inside"].mean(),
        }
    )
    return report.reset_index().sort_values(keys, ignore_index=True)
