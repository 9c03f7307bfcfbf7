"""Forecasters: the seasonal-naive baseline and the global gradient-boosting model.

Both follow one contract: `fit(history) -> self` and
`predict(history, horizon=28, future=None) -> DataFrame[series_id, date, yhat, yhat_lower,
yhat_upper]` with one row per series and future day t+1..t+horizon, t being the last date of
`history` (see `ml.panel` for the history frame). `future` optionally carries known-in-advance
`is_holiday` / `promo_share` for those days.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.features import _Prefix, build_features, training_rows
from ml.panel import Panel, build_panel

FORECAST_COLUMNS = ["series_id", "date", "yhat", "yhat_lower", "yhat_upper"]


def _frame(panel: Panel, s: np.ndarray, d: np.ndarray, point, lower, upper) -> pd.DataFrame:
    lo, hi = np.minimum(lower, point), np.maximum(upper, point)
    out = pd.DataFrame(
        {
            "series_id": panel.series_ids[s],
            "date": panel.dates[d],
            "yhat": point,
            "yhat_lower": lo,
            "yhat_upper": hi,
        }
    )
    return out.sort_values(["series_id", "date"], ignore_index=True)


def _future_grid(panel: Panel, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    days = panel.last_observed + np.arange(1, horizon + 1)
    return np.repeat(np.arange(len(panel.series_ids)), horizon), np.tile(
        days, len(panel.series_ids)
    )


class SeasonalNaive:
    """y(t+h) = y(t+h-7k), the same weekday of the last observed week (k = ceil(h/season)).

    Interval: empirical 10% / 90% quantiles of the series' seasonal differences
    y(t) - y(t-season) over its last 364 days, widened by sqrt(k) for k seasons ahead.
    Stateless: `fit` only exists for the common contract.
    """

    def __init__(self, season: int = 7) -> None:
        self.season = season

    def fit(self, history: pd.DataFrame) -> SeasonalNaive:
        return self

    def predict(
        self, history: pd.DataFrame, horizon: int = 28, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        panel = build_panel(history, horizon)
        s, d = _future_grid(panel, horizon)
        k = np.ceil((d - panel.last_observed) / self.season).astype(int)
        point = panel.y[s, d - k * self.season]
        t = panel.last_observed
        window = panel.y[:, max(0, t - 363) : t + 1]
        diff = window[:, self.season :] - window[:, : -self.season]
        with np.errstate(all="ignore"):
            q_lo, q_hi = np.nanquantile(diff, [0.1, 0.9], axis=1) if diff.size else (0, 0)
        q_lo, q_hi = np.nan_to_num(q_lo), np.nan_to_num(q_hi)
        widen = np.sqrt(k)
        return _frame(panel, s, d, point, point + q_lo[s] * widen, point + q_hi[s] * widen)


@dataclass(frozen=True)
class GBMParams:
    """Hyperparameters of `GlobalGBMForecaster` (JSON-serialisable; logged to MLflow)."""

    horizon: int = 28
    bucket_days: int = 7
    lower_quantile: float = 0.1
    upper_quantile: float = 0.9
    max_iter: int = 100
    quantile_max_iter: int = 50
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    min_samples_leaf: int = 50
    l2_regularization: float = 1.0
    max_train_rows: int | None = 2_000_000
    random_state: int = 0


class GlobalGBMForecaster:
    """One scikit-learn HistGradientBoostingRegressor per horizon bucket, across all series.

    Direct multi-horizon (see `ml.features`): bucket b predicts days t+h, h in
    ((b-1)*bucket_days, b*bucket_days], from lags >= b*bucket_days. Targets are scaled by the
    series' trailing 28-day mean, so the model is global across series sizes.

    80% interval: two extra boosters per bucket trained with quantile loss at 0.1 and 0.9.
    Chosen over conformal residual quantiles because (a) the width then depends on the row
    (holidays, promotions, small noisy series get wider bands) rather than being one number
    per horizon, and (b) it needs no held-out window inside `fit`, so a model fitted on all
    data is the model that is served. The rolling-origin backtest measures the realised
    coverage of these bands (target 0.8) before any version is promoted.

    Deterministic for a given `random_state` (no early-stopping split, no subsampling except
    the seeded `max_train_rows` cap). `n_threads` caps the OpenMP threads of fit and predict
    for this object only (threadpoolctl), never the process environment.
    """

    def __init__(self, params: GBMParams | None = None, n_threads: int | None = None, **kw: Any):
        self.params = params or GBMParams(**kw)
        if self.params.bucket_days % 7 or self.params.bucket_days <= 0:
            raise ValueError("bucket_days must be a positive multiple of 7 (weekday-aligned lags)")
        self.n_threads = n_threads
        self.models_: dict[int, dict[str, Any]] = {}
        self.train_end_: str | None = None

    @property
    def offsets(self) -> list[int]:
        """Smallest lag of each bucket model, i.e. the largest horizon it serves."""
        p = self.params
        return [p.bucket_days * b for b in range(1, math.ceil(p.horizon / p.bucket_days) + 1)]

    def get_config(self) -> dict[str, Any]:
        """Hyperparameters as a plain dict (to refit the same model on other cut-offs)."""
        return asdict(self.params)

    def _threads(self):
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=self.n_threads, user_api="openmp")

    def _estimator(self, loss: str, quantile: float | None = None):
        from sklearn.ensemble import HistGradientBoostingRegressor

        p = self.params
        return HistGradientBoostingRegressor(
            loss=loss,
            quantile=quantile,
            max_iter=p.max_iter if quantile is None else p.quantile_max_iter,
            learning_rate=p.learning_rate,
            max_leaf_nodes=p.max_leaf_nodes,
            min_samples_leaf=p.min_samples_leaf,
            l2_regularization=p.l2_regularization,
            early_stopping=False,
            random_state=p.random_state,
        )

    def fit(self, history: pd.DataFrame) -> GlobalGBMForecaster:
        """Fit the point and quantile boosters of every bucket on all of `history`."""
        panel = build_panel(history)
        prefix = _Prefix(panel.y)
        rng = np.random.default_rng(self.params.random_state)
        self.models_ = {}
        with self._threads():
            for offset in self.offsets:
                s, d = training_rows(panel, offset)
                cap = self.params.max_train_rows
                if cap and len(s) > cap:
                    keep = np.sort(rng.choice(len(s), size=cap, replace=False))
                    s, d = s[keep], d[keep]
                X, scale, _ = build_features(panel, offset, s, d, prefix)
                target = (panel.y[s, d] / scale).astype(np.float32)
                # A feature with no value at all (e.g. lag_364 on < 1 year of data) is
                # blanked to 0 in fit and predict alike.
                blank = np.flatnonzero(np.isnan(X).all(axis=0)).tolist()
                X[:, blank] = 0
                p = self.params
                self.models_[offset] = {
                    "blank": blank,
                    "point": self._estimator("squared_error").fit(X, target),
                    "lower": self._estimator("quantile", p.lower_quantile).fit(X, target),
                    "upper": self._estimator("quantile", p.upper_quantile).fit(X, target),
                }
                del X, target
        self.train_end_ = str(panel.dates[panel.last_observed].date())
        return self

    def predict(
        self, history: pd.DataFrame, horizon: int = 28, future: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Forecast t+1..t+horizon for every series of `history` (horizon <= params.horizon)."""
        if not self.models_:
            raise RuntimeError("fit the forecaster before predict")
        if horizon > self.params.horizon:
            raise ValueError(f"horizon {horizon} exceeds the trained {self.params.horizon}")
        panel = build_panel(history, horizon, future)
        prefix = _Prefix(panel.y)
        s_all, d_all = _future_grid(panel, horizon)
        h = d_all - panel.last_observed
        parts = []
        with self._threads():
            for offset in self.offsets:
                rows = (h > offset - self.params.bucket_days) & (h <= offset)
                if not rows.any():
                    continue
                s, d = s_all[rows], d_all[rows]
                X, scale, _ = build_features(panel, offset, s, d, prefix)
                m = self.models_[offset]
                X[:, m["blank"]] = 0
                preds = [m[k].predict(X) * scale for k in ("point", "lower", "upper")]
                parts.append(_frame(panel, s, d, *preds))
        return pd.concat(parts, ignore_index=True).sort_values(
            ["series_id", "date"], ignore_index=True
        )
