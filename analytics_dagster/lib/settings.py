"""Project constants shared by ``lib/`` and the settings.

The environment is read only by :mod:`analytics_dagster.settings`; ``lib/`` gets configured values as arguments.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MOSCOW_TZ = "Europe/Moscow"
DEFAULT_START_DATE = "2025-01-01"
DEFAULT_DEMO_EVENTS_PER_DAY = 5000
ALL_SOURCES = ("amplitude", "appmetrica")
