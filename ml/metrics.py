"""Forecast accuracy metrics: MASE, WAPE, bias and interval coverage.

Conventions (all on daily values, errors e = yhat - y):
- MASE: mean |e| over the forecast window / the series' in-sample MAE of the seasonal-naive(7)
  one-step forecast (mean |y_t - y_{t-7}|) on the training data before the cut-off. < 1 means
  better than repeating last week in sample; averaged over series (each series counts once).
- WAPE: sum |e| / sum |y| (pooled, so big series weigh more).
- bias: sum e / sum |y| (positive = over-forecast).
- coverage: share of actuals inside [yhat_lower, yhat_upper] (target 0.8 for an 80% band).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = ("mase", "wape", "bias", "coverage")


def seasonal_naive_mae(train: pd.DataFrame, season: int = 7) -> pd.Series:
    """In-sample MAE of y_t - y_{t-season} per series_id (the MASE denominator).

    `train` is a long frame [series_id, date, y] with complete days per series.
    """
    ordered = train.sort_values(["series_id", "date"])
    diff = ordered.groupby("series_id", sort=False)["y"].diff(season).abs()
    return diff.groupby(ordered["series_id"]).mean()


def add_errors(scored: pd.DataFrame) -> pd.DataFrame:
    """Add abs_error, error and inside columns to a frame with y, yhat, yhat_lower, yhat_upper."""
    out = scored.copy()
    out["error"] = out["yhat"] - out["y"]
    out["abs_error"] = out["error"].abs()
    out["inside"] = (out["y"] >= out["yhat_lower"]) & (out["y"] <= out["yhat_upper"])
    return out


def summarise(scored: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Metrics per group of `by` from a frame with errors and a `mase_scale` column.

    MASE per group is the mean over its (series, cut-off) windows of MAE / mase_scale.
    """
    window_keys = [k for k in ("cutoff", "series_id") if k in scored.columns]
    windows = scored.groupby([*by, *[k for k in window_keys if k not in by]], sort=False).agg(
        mae=("abs_error", "mean"), scale=("mase_scale", "first")
    )
    scale = windows["scale"].where(windows["scale"] > 0)
    windows["mase"] = windows["mae"] / scale
    mase = windows.groupby(level=list(range(len(by))))["mase"].mean()
    grouped = scored.groupby(by)
    abs_y = scored["y"].abs().groupby([scored[k] for k in by]).sum()
    out = pd.DataFrame(
        {
            "mase": mase,
            "wape": grouped["abs_error"].sum() / abs_y.replace(0, np.nan),
            "bias": grouped["error"].sum() / abs_y.replace(0, np.nan),
            "coverage": grouped["inside"].mean(),
            "n": grouped.size(),
        }
    )
    return out.reset_index()
