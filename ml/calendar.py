"""Retail holiday flags computed in Python, mirroring `core.dim_date.is_holiday`.

Forecasts need the holiday flag for future days that are not in the history frame yet; the
warehouse's `dim_date` has them too (it spans 2015-2035), and the two must agree. The rules are
the ones in `dbt_project/models/marts/core/dim_date.sql`: Black Friday (day after the fourth
Thursday of November), Cyber Monday (the Monday after), Christmas Eve/Day, Boxing Day,
New Year's Eve/Day and Valentine's Day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_FIXED = {(12, 24), (12, 25), (12, 26), (12, 31), (1, 1), (2, 14)}


def black_friday(year: int) -> pd.Timestamp:
    """Black Friday of `year`: the day after the fourth Thursday of November."""
    first = pd.Timestamp(year=year, month=11, day=1)
    first_thursday = first + pd.Timedelta(days=(3 - first.day_of_week) % 7)
    return first_thursday + pd.Timedelta(days=22)


def holiday_flags(dates: pd.DatetimeIndex | pd.Series) -> np.ndarray:
    """Boolean array, True where the date is a retail holiday (same rules as `dim_date`)."""
    idx = pd.DatetimeIndex(dates).normalize()
    month, day = idx.month.to_numpy(), idx.day.to_numpy()
    flags = np.zeros(len(idx), dtype=bool)
    for m, d in _FIXED:
        flags |= (month == m) & (day == d)
    for year in np.unique(idx.year):
        bf = black_friday(int(year))
        flags |= (idx == bf) | (idx == bf + pd.Timedelta(days=3))
    return flags
