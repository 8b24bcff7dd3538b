"""Configuration names shared by the whole project (see .env.example), read from the environment.

Only non-secret settings are read here; secrets reach resources through ``dagster.EnvVar`` so they never show in
the UI, logs or metadata.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MOSCOW_TZ = "Europe/Moscow"
DEFAULT_START_DATE = "2025-01-01"
DEFAULT_DEMO_EVENTS_PER_DAY = 5000


def data_dir() -> Path:
    """``ANALYTICS_DATA_DIR`` (relative paths are taken from the current directory), default ``<project>/data``."""
    configured = os.getenv("ANALYTICS_DATA_DIR")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "data"


def start_date() -> str:
    value = os.getenv("ANALYTICS_START_DATE") or DEFAULT_START_DATE
    try:
        dt.date.fromisoformat(value)
    except ValueError as error:
        raise ValueError(f"ANALYTICS_START_DATE={value!r} is not a date in YYYY-MM-DD form") from error
    return value


def demo_events_per_day() -> int:
    value = os.getenv("DEMO_EVENTS_PER_DAY") or str(DEFAULT_DEMO_EVENTS_PER_DAY)
    try:
        events = int(value)
    except ValueError as error:
        raise ValueError(f"DEMO_EVENTS_PER_DAY={value!r} is not a whole number") from error
    if events < 0:
        raise ValueError(f"DEMO_EVENTS_PER_DAY={value!r} must not be negative")
    return events


ALL_SOURCES = ("amplitude", "appmetrica")


def configured_sources() -> tuple[str, ...]:
    """``ANALYTICS_SOURCES``: the event sources this platform loads (comma-separated; default both). A day's DWH
    partition needs the raw day of each, and a metric day is final only when all of them are loaded."""
    value = os.getenv("ANALYTICS_SOURCES") or ",".join(ALL_SOURCES)
    sources = tuple(dict.fromkeys(s.strip() for s in value.split(",") if s.strip()))
    unknown = [s for s in sources if s not in ALL_SOURCES]
    if unknown or not sources:
        raise ValueError(f"ANALYTICS_SOURCES={value!r}: choose among {', '.join(ALL_SOURCES)}")
    return sources
