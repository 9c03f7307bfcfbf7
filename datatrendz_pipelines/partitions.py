"""The daily partitions every day-grained asset shares, and helpers to turn them into dates."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from datatrendz_pipelines.settings import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(
        start_date=settings.partitions_start.isoformat(), timezone=settings.timezone
    )


def days_in_window(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """The days of a partition time window [start, end): end is exclusive."""
    first, stop = start.date(), end.date()
    return [first + dt.timedelta(days=i) for i in range((stop - first).days)]
