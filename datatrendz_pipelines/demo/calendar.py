"""The retail calendar: demand multipliers per day and channel, holidays, promotions, hours.

Channels are indexed 0 = physical stores, 1 = web shop throughout the demo package.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

STORE, ONLINE = 0, 1

# Monday..Sunday: shops fill up at the weekend, the web shop peaks on Sunday and Monday evenings.
_WEEKLY = np.array(
    [
        [0.80, 0.80, 0.85, 0.95, 1.10, 1.45, 1.05],
        [1.10, 1.00, 1.00, 0.95, 0.90, 0.95, 1.10],
    ]
)
# Yearly growth per channel: the web shop grows faster than the shops.
_GROWTH = np.array([1.15, 1.25])
# Holiday multipliers (store, online); kept below ~2x the trailing month so that genuine
# holidays do not look like volume faults, except Christmas Day when shops are closed.
_HOLIDAYS = {
    "black_friday": (1.7, 1.8),
    "cyber_monday": (1.05, 1.8),
    "christmas_eve": (1.5, 0.8),
    "christmas_day": (0.0, 0.6),
    "boxing_day": (1.5, 1.3),
    "new_years_day": (0.4, 0.9),
}


@dataclass(frozen=True)
class Promotion:
    """A sales event: orders using `code` get `discount` off every line."""

    code: str
    start: dt.date
    end: dt.date  # inclusive
    discount: float  # share of the line amount taken off
    uplift: tuple[float, float]  # demand multiplier (store, online)


@dataclass(frozen=True)
class Calendar:
    """Per-day facts of the period, arrays indexed by day number (0 = config.start)."""

    dates: tuple[dt.date, ...]
    demand: np.ndarray  # (days, 2) multiplier of the base order rate per channel
    stores_open: np.ndarray  # (days,) bool: physical shops open
    open_hour: np.ndarray  # (days,) hour physical shops open
    close_hour: np.ndarray  # (days,) hour physical shops close
    promo: np.ndarray  # (days,) index into promotions, -1 when none
    promotions: tuple[Promotion, ...]
    holidays: dict[int, str]

    @property
    def days(self) -> int:
        return len(self.dates)

    def promotion_on(self, day: int) -> Promotion | None:
        """The promotion running on a day, if any."""
        index = int(self.promo[day])
        return self.promotions[index] if index >= 0 else None


def holiday_dates(year: int) -> dict[dt.date, str]:
    """The holidays the business plans for in one year."""
    nov_first = dt.date(year, 11, 1)
    first_thursday = nov_first + dt.timedelta(days=(3 - nov_first.weekday()) % 7)
    black_friday = first_thursday + dt.timedelta(weeks=3, days=1)  # the day after Thanksgiving
    return {
        dt.date(year, 1, 1): "new_years_day",
        black_friday: "black_friday",
        black_friday + dt.timedelta(days=3): "cyber_monday",
        dt.date(year, 12, 24): "christmas_eve",
        dt.date(year, 12, 25): "christmas_day",
        dt.date(year, 12, 26): "boxing_day",
    }


def promotions_for(year: int) -> list[Promotion]:
    """The yearly promotion plan: seasonal sales with a code, a discount and an uplift."""
    black_friday = next(d for d, name in holiday_dates(year).items() if name == "black_friday")

    def promo(code: str, start: dt.date, days: int, discount: float, uplift: tuple[float, float]):
        return Promotion(code, start, start + dt.timedelta(days=days - 1), discount, uplift)

    return [
        promo(f"JANSALE{year % 100}", dt.date(year, 1, 2), 9, 0.20, (1.20, 1.30)),
        promo(f"SPRING{year % 100}", dt.date(year, 3, 20), 7, 0.15, (1.10, 1.25)),
        promo(f"SUMMER{year % 100}", dt.date(year, 7, 1), 10, 0.20, (1.15, 1.30)),
        promo(f"BACK2SCHOOL{year % 100}", dt.date(year, 8, 25), 7, 0.10, (1.10, 1.15)),
        promo(f"BLACKFRIDAY{year % 100}", black_friday, 4, 0.25, (1.15, 1.30)),
        promo(f"XMAS{year % 100}", dt.date(year, 12, 10), 7, 0.10, (1.05, 1.15)),
    ]


def _season(day_of_year: np.ndarray) -> np.ndarray:
    """Yearly shape: high in December, a dip in high summer, quiet January after the sales."""
    doy = day_of_year.astype(float)
    wave = 0.06 * np.cos(2 * np.pi * (doy - 350) / 365.25)
    summer_dip = -0.08 * np.exp(-(((doy - 210) / 25) ** 2))
    december = 0.35 * np.exp(-(((doy - 352) / 10) ** 2)) * (doy <= 358)
    return 1.0 + wave + summer_dip + december


def build_calendar(start: dt.date, days: int) -> Calendar:
    """Demand multipliers (weekly x yearly x trend x holiday x promotion) for every day."""
    dates = tuple(start + dt.timedelta(days=i) for i in range(days))
    years = range(start.year, dates[-1].year + 1)
    holidays = {d: name for y in years for d, name in holiday_dates(y).items()}
    promotions = tuple(
        p for y in years for p in promotions_for(y) if p.end >= start and p.start <= dates[-1]
    )
    dow = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates])
    t_years = np.arange(days) / 365.25
    demand = np.empty((days, 2))
    for channel in (STORE, ONLINE):
        demand[:, channel] = _WEEKLY[channel, dow] * _season(doy) * _GROWTH[channel] ** t_years
    promo = np.full(days, -1)
    for index, p in enumerate(promotions):
        first, last = (p.start - start).days, (p.end - start).days
        span = slice(max(first, 0), max(last + 1, 0))
        promo[span] = index
        demand[span] *= np.array(p.uplift)
    holiday_days: dict[int, str] = {}
    open_hour = np.where(dow == 6, 10, 9)
    close_hour = np.where(dow == 6, 18, 21)
    for i, d in enumerate(dates):
        name = holidays.get(d)
        if name is None:
            continue
        holiday_days[i] = name
        demand[i] *= np.array(_HOLIDAYS[name])
        if name == "christmas_eve":
            close_hour[i] = 16
        if name == "new_years_day":
            open_hour[i], close_hour[i] = 11, 17
    stores_open = demand[:, STORE] > 0
    return Calendar(
        dates, demand, stores_open, open_hour, close_hour, promo, promotions, holiday_days
    )


def minute_weights(channel: int, open_hour: int = 9, close_hour: int = 21) -> np.ndarray:
    """Relative weight of each minute of the day (1440) for transactions of a channel (UTC)."""
    hours = np.arange(1440) / 60.0
    if channel == ONLINE:
        # Quiet at night, steady through the day, an evening peak around 20:00.
        return (
            0.15 + np.exp(-(((hours - 13) / 4) ** 2)) + 1.4 * np.exp(-(((hours - 20.5) / 2) ** 2))
        )
    weights = (
        0.6 + np.exp(-(((hours - 12.5) / 1.5) ** 2)) + 1.2 * np.exp(-(((hours - 16.5) / 2) ** 2))
    )
    weights[(hours < open_hour) | (hours >= close_hour)] = 0.0
    return weights
