"""Dense (series x day) arrays built once from the long `history` frame.

The long frame is the public contract: columns `series_id` (str), `date` (datetime64, daily),
`y` (float) and optionally `is_holiday` (bool) and `promo_share` (float 0..1). Features are
computed on a dense panel because lags and rolling windows become array slices; that is
much faster and uses less memory than pandas group-by shifts at 2,000 series x 730 days.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.calendar import holiday_flags

REQUIRED_COLUMNS = ("series_id", "date", "y")
EXOG_COLUMNS = ("is_holiday", "promo_share")


@dataclass(frozen=True)
class Panel:
    """History as arrays; day `j` is `dates[j]`, the last `n_future` days have no `y`.

    `y[s, j]` is NaN before series `s` starts and on future days. `start[s]` is the index of
    the first observed day of series `s`; `last_observed` is the index of the last day with
    history (the forecast origin). `promo` is 0 where unknown.
    """

    series_ids: np.ndarray
    dates: pd.DatetimeIndex
    y: np.ndarray
    holiday: np.ndarray
    promo: np.ndarray
    start: np.ndarray
    last_observed: int

    @property
    def n_future(self) -> int:
        return len(self.dates) - 1 - self.last_observed


def validate_history(history: pd.DataFrame) -> None:
    """Raise ValueError when `history` misses a required column or repeats a (series, date)."""
    missing = [c for c in REQUIRED_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(f"history is missing columns {missing}")
    if history.duplicated(["series_id", "date"]).any():
        raise ValueError("history has duplicate (series_id, date) rows")


def split_future(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Split an input frame into history and future exogenous rows.

    Rows after the last date with a non-null `y` carry known-in-advance values (planned
    `promo_share`, `is_holiday`) for the forecast window; they are returned as `future`.
    """
    if frame["y"].notna().all():
        return frame, None
    last = frame.loc[frame["y"].notna(), "date"].max()
    later = frame["date"] > last
    return frame.loc[~later & frame["y"].notna()], frame.loc[later].drop(columns="y")


def build_panel(
    history: pd.DataFrame, horizon: int = 0, future: pd.DataFrame | None = None
) -> Panel:
    """Pivot `history` to a dense panel extended by `horizon` future days.

    Missing days inside a series' span are filled with y=0 (a closed store sold nothing).
    Holidays of every day come from `history.is_holiday` where given, else from the
    `ml.calendar` rules. `promo_share` of future days comes from `future` (columns `date`,
    optional `series_id`, `promo_share`) and defaults to 0 (no planned promotion).
    """
    validate_history(history)
    last = pd.Timestamp(history["date"].max()).normalize()
    first = pd.Timestamp(history["date"].min()).normalize()
    dates = pd.date_range(first, last + pd.Timedelta(days=horizon), freq="D")
    series_ids = np.sort(history["series_id"].astype(str).unique())
    s_idx = np.searchsorted(series_ids, history["series_id"].astype(str).to_numpy())
    d_idx = (pd.DatetimeIndex(history["date"]).normalize() - first).days.to_numpy()

    y = np.full((len(series_ids), len(dates)), np.nan)
    y[s_idx, d_idx] = history["y"].to_numpy(dtype=float)
    start = np.full(len(series_ids), len(dates))
    np.minimum.at(start, s_idx, d_idx)
    n_hist = (last - first).days + 1
    span = (np.arange(len(dates))[None, :] >= start[:, None]) & (
        np.arange(len(dates))[None, :] < n_hist
    )
    y[span & np.isnan(y)] = 0.0

    holiday = holiday_flags(dates)
    if "is_holiday" in history.columns:
        known = history.groupby(d_idx)["is_holiday"].max()
        holiday[known.index.to_numpy()] = known.to_numpy(dtype=bool)
    promo = np.zeros_like(y)
    if "promo_share" in history.columns:
        promo[s_idx, d_idx] = history["promo_share"].fillna(0).to_numpy(dtype=float)
    if future is not None and len(future):
        _apply_future(future, series_ids, first, promo, holiday)
    return Panel(series_ids, dates, y, holiday, promo, start, n_hist - 1)


def _apply_future(
    future: pd.DataFrame,
    series_ids: np.ndarray,
    first: pd.Timestamp,
    promo: np.ndarray,
    holiday: np.ndarray,
) -> None:
    """Write known-in-advance exogenous values for future days into the panel (in place)."""
    d_idx = (pd.DatetimeIndex(future["date"]).normalize() - first).days.to_numpy()
    keep = (d_idx >= 0) & (d_idx < promo.shape[1])
    fut = future.loc[keep]
    d_idx = d_idx[keep]
    if "is_holiday" in fut.columns:
        holiday[d_idx] = fut["is_holiday"].to_numpy(dtype=bool)
    if "promo_share" not in fut.columns:
        return
    values = fut["promo_share"].fillna(0).to_numpy(dtype=float)
    if "series_id" in fut.columns:
        s_idx = np.searchsorted(series_ids, fut["series_id"].astype(str).to_numpy())
        s_idx = np.clip(s_idx, 0, len(series_ids) - 1)
        ok = series_ids[s_idx] == fut["series_id"].astype(str).to_numpy()
        promo[s_idx[ok], d_idx[ok]] = values[ok]
    else:
        promo[:, d_idx] = values[None, :]
