"""Synthetic daily retail series for tests and benchmarks (numpy only, seeded).

Each series: level (log-normal across series) x weekly profile x yearly cycle x linear trend
x holiday effects (closed on Christmas Day, Black Friday peak, ...) x planned promotions
(multiplicative uplift 1 + 0.8 * promo_share) x log-normal noise. A few series start late.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.calendar import black_friday, holiday_flags

_WEEKLY = np.array([0.90, 0.85, 0.90, 1.00, 1.15, 1.35, 1.10])  # Monday..Sunday


def _promo_days(dates: pd.DatetimeIndex) -> np.ndarray:
    """True on the days of a yearly promotion plan (known in advance)."""
    on = np.zeros(len(dates), dtype=bool)
    for year in np.unique(dates.year):
        year = int(year)
        spans = [
            (pd.Timestamp(year, 1, 2), 9),
            (pd.Timestamp(year, 3, 20), 7),
            (pd.Timestamp(year, 7, 1), 10),
            (pd.Timestamp(year, 8, 25), 7),
            (black_friday(year), 4),
            (pd.Timestamp(year, 12, 10), 7),
        ]
        for start, days in spans:
            on |= (dates >= start) & (dates < start + pd.Timedelta(days=days))
    return on


def _holiday_multiplier(dates: pd.DatetimeIndex) -> np.ndarray:
    mult = np.ones(len(dates))
    md = list(zip(dates.month, dates.day, strict=True))
    for i, (m, d) in enumerate(md):
        mult[i] = {(12, 25): 0.0, (12, 24): 1.3, (1, 1): 0.5, (2, 14): 1.1, (12, 31): 0.8}.get(
            (m, d), 1.0
        )
    for year in np.unique(dates.year):
        bf = black_friday(int(year))
        mult[dates == bf] = 1.9
        mult[dates == bf + pd.Timedelta(days=3)] = 1.4
    return mult


def make_history(
    n_series: int = 12,
    n_days: int = 400,
    start: str = "2023-01-01",
    seed: int = 0,
    noise: float = 0.12,
) -> pd.DataFrame:
    """Long frame [series_id, date, y, is_holiday, promo_share], sorted by series and date."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n_days, freq="D")
    t = np.arange(n_days)
    level = np.exp(rng.normal(np.log(200), 1.0, n_series))[:, None]
    weekly = (
        _WEEKLY[dates.day_of_week][None, :]
        * (1 + rng.normal(0, 0.05, (n_series, 7)))[:, dates.day_of_week]
    )
    amp = rng.uniform(0.1, 0.3, (n_series, 1))
    phase = rng.uniform(0, 365, (n_series, 1))
    yearly = 1 + amp * np.sin(2 * np.pi * (dates.day_of_year.to_numpy()[None, :] - phase) / 365.25)
    trend = 1 + rng.normal(0.05, 0.08, (n_series, 1)) * t[None, :] / 365
    promo_on = _promo_days(dates)
    take_up = rng.uniform(0.3, 0.45, (n_series, 1))
    promo = promo_on[None, :] * np.clip(take_up + rng.normal(0, 0.04, (n_series, n_days)), 0, 1)
    mu = level * weekly * yearly * trend * _holiday_multiplier(dates)[None, :] * (1 + 0.8 * promo)
    y = mu * np.exp(rng.normal(-(noise**2) / 2, noise, mu.shape))

    starts = np.zeros(n_series, dtype=int)
    late = rng.choice(n_series, size=max(1, n_series // 6), replace=False)
    starts[late] = rng.integers(30, max(31, n_days // 4), size=len(late))
    width = len(str(n_series - 1))
    frame = pd.DataFrame(
        {
            "series_id": np.repeat([f"s{i:0{width}d}" for i in range(n_series)], n_days),
            "date": np.tile(dates.to_numpy(), n_series),
            "y": np.round(y, 2).ravel(),
            "is_holiday": np.tile(holiday_flags(dates), n_series),
            "promo_share": np.round(promo, 4).ravel(),
        }
    )
    keep = np.tile(t, n_series) >= np.repeat(starts, n_days)
    return frame.loc[keep].reset_index(drop=True)
