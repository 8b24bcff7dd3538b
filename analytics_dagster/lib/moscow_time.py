"""Moscow calendar days and the UTC hours they cover (Moscow is UTC+3 all year, no DST since 2014)."""

from __future__ import annotations

import datetime as dt

MOSCOW_UTC_OFFSET = dt.timedelta(hours=3)


def parse_day(partition_key: str) -> dt.date:
    try:
        return dt.date.fromisoformat(partition_key)
    except ValueError as error:
        raise ValueError(f"partition key {partition_key!r} is not a day in YYYY-MM-DD form") from error


def moscow_day_utc_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a Moscow day in naive UTC: (D-1) 21:00 to D 21:00."""
    start = dt.datetime.combine(day, dt.time()) - MOSCOW_UTC_OFFSET
    return start, start + dt.timedelta(days=1)


def moscow_day_of(utc_time: dt.datetime) -> dt.date:
    """The Moscow calendar day of a naive UTC time."""
    return (utc_time + MOSCOW_UTC_OFFSET).date()
