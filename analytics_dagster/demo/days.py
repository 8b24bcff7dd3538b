"""Moscow days of the demo model: day numbers since EPOCH, their UTC bounds, and the timestamp texts the APIs use."""

from __future__ import annotations

import datetime as dt

import numpy as np

from analytics_dagster.lib.amplitude import HourWindow
from analytics_dagster.lib.moscow_time import MOSCOW_UTC_OFFSET

MSK = dt.timezone(MOSCOW_UTC_OFFSET, "MSK")
EPOCH = dt.date(2020, 1, 1)  # first cohort; volume is stable for days >= EPOCH + MAX_AGE_DAYS
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
_MOSCOW_OFFSET_SECONDS = int(MOSCOW_UTC_OFFSET.total_seconds())
_MOSCOW_OFFSET_MS = _MOSCOW_OFFSET_SECONDS * 1000


def amplitude_timestamps(ms: np.ndarray) -> list[bytes]:
    """UTC ms -> b'YYYY-MM-DD HH:MM:SS.ffffff' (Amplitude export format)."""
    s = np.datetime_as_string(np.asarray(ms, dtype="int64").astype("datetime64[ms]"), unit="us")
    b = s.astype("S26").view(np.uint8).reshape(-1, 26).copy()
    b[:, 10] = 32
    return b.view("S26").ravel().tolist()


def moscow_datetimes(sec: np.ndarray) -> list[str]:
    """Moscow-local 'YYYY-MM-DD HH:MM:SS' from unix seconds."""
    local = np.asarray(sec, dtype="int64") + _MOSCOW_OFFSET_SECONDS
    s = np.datetime_as_string(local.astype("datetime64[s]"), unit="s")
    b = s.astype("S19").view(np.uint8).reshape(-1, 19).copy()
    b[:, 10] = 32
    return b.view("S19").ravel().astype("U19").tolist()


def day_number_of(day: dt.date) -> int:
    return (day - EPOCH).days


def day_start_ms(day_number: int) -> int:
    """UTC epoch ms of 00:00 Moscow of day number day_number."""
    return ((EPOCH - dt.date(1970, 1, 1)).days + day_number) * DAY_MS - _MOSCOW_OFFSET_MS


def as_date(day: dt.date | str) -> dt.date:
    if isinstance(day, dt.datetime):
        return day.date()
    if isinstance(day, dt.date):
        return day
    return dt.date.fromisoformat(str(day))


def amplitude_window(day: dt.date | str) -> tuple[str, str]:
    """Export API (start, end) parameters for Moscow day D: ('YYYYMMDDT21' of D-1, 'YYYYMMDDT20' of D)."""
    params = HourWindow.for_moscow_day(as_date(day)).params()
    return params["start"], params["end"]


def amplitude_member_name(project_id: int, utc_hour: dt.datetime) -> str:
    return f"{project_id}/{project_id}_{utc_hour:%Y-%m-%d}_{utc_hour.hour}#0.json.gz"
