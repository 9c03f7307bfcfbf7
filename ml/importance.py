"""Permutation feature importance of the first-bucket point model on a recent sample.

HistGradientBoostingRegressor exposes no split-gain importances, so importance is the drop
in the model's score (negative MAE on the scaled target) when one feature is shuffled,
measured on the most recent `sample` training rows (in-sample: it ranks what the model
relies on, it is not an out-of-sample accuracy claim).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import _Prefix, build_features, feature_names, training_rows
from ml.models import GlobalGBMForecaster
from ml.panel import build_panel


def permutation_importances(
    model: GlobalGBMForecaster, history: pd.DataFrame, sample: int = 4000, n_repeats: int = 3
) -> pd.DataFrame:
    """DataFrame[feature, importance_mean, importance_std], most important first."""
    from sklearn.inspection import permutation_importance

    offset = model.offsets[0]
    panel = build_panel(history)
    s, d = training_rows(panel, offset)
    recent = np.argsort(d, kind="stable")[-sample:]
    s, d = s[recent], d[recent]
    X, scale, _ = build_features(panel, offset, s, d, _Prefix(panel.y))
    X[:, model.models_[offset]["blank"]] = 0
    target = panel.y[s, d] / scale
    with model._threads():
        result = permutation_importance(
            model.models_[offset]["point"],
            X,
            target,
            n_repeats=n_repeats,
            random_state=model.params.random_state,
            scoring="neg_mean_absolute_error",
        )
    frame = pd.DataFrame(
        {
            "feature": feature_names(offset),
            "importance_mean": result.importances_mean,
            "importance_std": result.importances_std,
        }
    )
    return frame.sort_values("importance_mean", ascending=False, ignore_index=True)
