"""Features: no leakage past d - offset, panel filling, holiday rules, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.calendar import holiday_flags
from ml.features import build_features, feature_names
from ml.panel import build_panel, split_future
from ml.synthetic import make_history


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return make_history(n_series=4, n_days=420, start="2023-06-01", seed=3)


@pytest.mark.parametrize("offset", [7, 14, 28])
def test_features_use_only_values_up_to_d_minus_offset(history: pd.DataFrame, offset: int) -> None:
    panel = build_panel(history)
    day = 400
    s = np.arange(len(panel.series_ids))
    d = np.full(len(s), day)
    before, scale_before, _ = build_features(panel, offset, s, d)
    poisoned = panel.y.copy()
    poisoned[:, day - offset + 1 :] = 1e9  # everything after the allowed cut is garbage
    after, scale_after, _ = build_features(
        type(panel)(**{**panel.__dict__, "y": poisoned}), offset, s, d
    )
    np.testing.assert_array_equal(before, after)
    np.testing.assert_array_equal(scale_before, scale_after)
    # ... and the features do read the last allowed day
    poisoned[:, day - offset] = 1e9
    moved, _, _ = build_features(type(panel)(**{**panel.__dict__, "y": poisoned}), offset, s, d)
    assert not np.array_equal(before, moved)
    assert before.dtype == np.float32
    assert before.shape == (len(s), len(feature_names(offset)))


def test_panel_fills_missing_days_with_zero_and_extends_future() -> None:
    frame = pd.DataFrame(
        {
            "series_id": ["a", "a", "b"],
            "date": pd.to_datetime(["2024-12-23", "2024-12-26", "2024-12-25"]),
            "y": [5.0, 7.0, 1.0],
        }
    )
    panel = build_panel(frame, horizon=3)
    assert list(panel.series_ids) == ["a", "b"]
    np.testing.assert_array_equal(panel.y[0, :4], [5.0, 0.0, 0.0, 7.0])
    assert np.isnan(panel.y[1, :2]).all() and panel.y[1, 2] == 1.0
    assert panel.n_future == 3 and np.isnan(panel.y[:, -3:]).all()
    assert panel.holiday[2]  # Christmas Day from the calendar rules


def test_holidays_follow_dim_date_rules() -> None:
    days = pd.to_datetime(["2024-11-29", "2024-12-02", "2024-12-25", "2024-11-28", "2025-02-14"])
    assert holiday_flags(days).tolist() == [True, True, True, False, True]


def test_split_future_separates_planned_rows() -> None:
    frame = pd.DataFrame(
        {
            "series_id": ["a"] * 3,
            "date": pd.date_range("2024-01-01", periods=3),
            "y": [1.0, 2.0, np.nan],
            "promo_share": [0.0, 0.0, 0.4],
        }
    )
    hist, future = split_future(frame)
    assert len(hist) == 2 and future is not None and future["promo_share"].tolist() == [0.4]
