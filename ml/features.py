"""Lag, rolling, calendar and exogenous features for the direct multi-horizon forecaster.

Design: DIRECT multi-horizon forecasting with horizon buckets. The 28-day horizon is cut into
buckets of `bucket_days` (default 7): bucket b serves horizons h in (offset - bucket_days,
offset] with offset = b * bucket_days, and its model only sees values of `y` at or before
`d - offset` for a target day `d`. Since h <= offset, every feature of a target day t+h is
computable at the forecast origin t, with no recursion (no feeding forecasts back as lags)
and no leakage. Short horizons use fresh lags (7, 14, 21, 28 for bucket 1), long ones
use lags >= 28. `bucket_days=28` gives the single "lags >= horizon" model.

Scale normalisation: every y-derived feature and the target are divided by `scale`, the mean
of y over the 28 days ending at d - offset (fallback: the expanding mean, then 1). One global
model thus learns shapes (weekly pattern, holiday and promotion effects) across series of very
different sizes; `log_scale` tells it the size. All features are float32, built once per
bucket straight into the final matrix from (series, day) row indices.
"""

from __future__ import annotations

import numpy as np

from ml.panel import Panel

SCALE_WINDOW = 28
MIN_SCALE_OBS = 14  # training rows need this many observed days in the scale window


def feature_names(offset: int) -> list[str]:
    """Feature columns of the bucket model whose smallest lag is `offset` days."""
    lags = [f"lag_{offset + 7 * k}" for k in range(4)] + ["lag_364"]
    return [
        *lags,
        "mean_7",
        "mean_91",
        "mean_364",
        "std_28",
        "log_scale",
        "days_since_start",
        "day_of_week",
        "week_of_year",
        "month",
        "day_of_month",
        "is_holiday",
        "is_holiday_prev",
        "is_holiday_next",
        "holidays_at_lags",
        "promo_share",
        "promo_at_lags",
    ]


class _Prefix:
    """Prefix sums over days (NaN-aware) so any trailing window mean is two lookups."""

    def __init__(self, y: np.ndarray) -> None:
        obs = ~np.isnan(y)
        z = np.where(obs, y, 0.0)
        pad = np.zeros((y.shape[0], 1))
        self.sum = np.hstack([pad, np.cumsum(z, axis=1)])
        self.sq = np.hstack([pad, np.cumsum(z * z, axis=1)])
        self.n = np.hstack([pad, np.cumsum(obs, axis=1)])

    def window(self, s: np.ndarray, end: np.ndarray, width: int | None):
        """(sum, sum of squares, count) of days (end - width, end]; width None = expanding."""
        hi = np.clip(end + 1, 0, None)
        lo = np.zeros_like(hi) if width is None else np.clip(hi - width, 0, None)
        return (
            self.sum[s, hi] - self.sum[s, lo],
            self.sq[s, hi] - self.sq[s, lo],
            self.n[s, hi] - self.n[s, lo],
        )


def _div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), np.nan)


def row_scale(prefix: _Prefix, s: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scale of each row (mean of y over the window ending at `end`) and that window's count."""
    total, _, n = prefix.window(s, end, SCALE_WINDOW)
    scale = _div(total, n)
    e_total, _, e_n = prefix.window(s, end, None)
    scale = np.where(scale > 0, scale, _div(e_total, e_n))
    return np.where(scale > 0, scale, 1.0), n


def build_features(
    panel: Panel, offset: int, s: np.ndarray, d: np.ndarray, prefix: _Prefix | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Feature matrix for rows (series index `s`, target day index `d`) of a bucket model.

    Returns (X float32 [rows x features], scale float64 [rows], scale-window count [rows]).
    Only y at day indices <= d - offset is read (the no-leakage contract); calendar and
    promotion values of the target day itself are known in advance and used directly.
    """
    prefix = prefix or _Prefix(panel.y)
    end = d - offset
    scale, n28 = row_scale(prefix, s, end)
    names = feature_names(offset)
    X = np.empty((len(s), len(names)), dtype=np.float32)
    col = iter(range(len(names)))

    def lag(k: int) -> np.ndarray:
        j = d - k
        return np.where(j >= 0, panel.y[s, np.clip(j, 0, None)], np.nan)

    for k in (offset, offset + 7, offset + 14, offset + 21, max(364, offset)):
        X[:, next(col)] = lag(k) / scale
    for width in (7, 91, 364):
        total, _, n = prefix.window(s, end, width)
        X[:, next(col)] = _div(total, n) / scale
    total, sq, n = prefix.window(s, end, SCALE_WINDOW)
    mean = _div(total, n)
    X[:, next(col)] = np.sqrt(np.clip(_div(sq, n) - mean * mean, 0, None)) / scale
    X[:, next(col)] = np.log1p(np.abs(scale))
    X[:, next(col)] = d - panel.start[s]
    for values in _calendar(panel):
        X[:, next(col)] = values[d]
    hol = panel.holiday.astype(np.float32)
    last = len(hol) - 1
    X[:, next(col)] = hol[d]
    X[:, next(col)] = hol[np.clip(d - 1, 0, last)]
    X[:, next(col)] = hol[np.clip(d + 1, 0, last)]
    lag_days = [np.clip(d - offset - 7 * k, 0, last) for k in range(4)]
    X[:, next(col)] = sum(hol[j] for j in lag_days)
    X[:, next(col)] = panel.promo[s, d]
    X[:, next(col)] = sum(panel.promo[s, j] for j in lag_days) / 4
    return X, scale, n28


def _calendar(panel: Panel) -> tuple[np.ndarray, ...]:
    """Per-day day of week (0=Monday), ISO week, month and day of month."""
    dates = panel.dates
    week = dates.isocalendar().week.to_numpy(dtype=np.int16)
    return dates.day_of_week.to_numpy(), week, dates.month.to_numpy(), dates.day.to_numpy()


def training_rows(panel: Panel, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """(series, day) indices usable as training targets for a bucket model.

    A row needs an observed y and at least MIN_SCALE_OBS observed days in its scale window
    (so the normalised target is not dominated by a one-day scale).
    """
    s, d = np.nonzero(~np.isnan(panel.y))
    prefix = _Prefix(panel.y)
    _, _, n = prefix.window(s, d - offset, SCALE_WINDOW)
    keep = n >= MIN_SCALE_OBS
    return s[keep], d[keep]
