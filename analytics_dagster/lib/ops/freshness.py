"""Freshness deadlines: by which Moscow time of day D the previous day D-1 must be materialized, per asset group.

The deadlines are set per group by ``FRESHNESS_DEADLINE_<GROUP>`` (``HH:MM``, Moscow time); the Dagster freshness
checks turn them into a cron, and ``make status`` uses :func:`expected_day` to decide which day must exist now.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")
# Ingest and the DWH follow the 09:00 schedule; metrics and replays run after the DWH day lands.
DEFAULT_DEADLINES = {"ingest": "10:30", "dwh": "10:30", "metrics": "11:00", "replays": "11:00"}
_HH_MM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Deadline:
    group: str
    time: dt.time  # Moscow time of day by which the previous Moscow day must be materialized

    @property
    def cron(self) -> str:
        return f"{self.time.minute} {self.time.hour} * * *"

    def __str__(self) -> str:
        return f"{self.time:%H:%M} Moscow"


def env_name(group: str) -> str:
    return f"FRESHNESS_DEADLINE_{group.upper()}"


def parse_deadline(group: str, value: str) -> Deadline:
    match = _HH_MM.match(value.strip())
    if not match:
        raise ValueError(f"{env_name(group)}={value!r} is not a Moscow time of day in HH:MM form (e.g. 10:30)")
    return Deadline(group, dt.time(int(match[1]), int(match[2])))


def deadlines(environ: Mapping[str, str]) -> dict[str, Deadline]:
    """The deadline of every group: ``FRESHNESS_DEADLINE_<GROUP>`` when set, the default otherwise."""
    return {
        group: parse_deadline(group, environ.get(env_name(group)) or default)
        for group, default in DEFAULT_DEADLINES.items()
    }


def expected_day(now: dt.datetime, deadline: Deadline) -> dt.date:
    """The newest Moscow day that must be materialized at ``now``: yesterday once today's deadline has passed,
    the day before yesterday until then (the same day Dagster's time-partition freshness check expects)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = now.astimezone(MOSCOW)
    days_back = 1 if local.time() >= deadline.time else 2
    return local.date() - dt.timedelta(days=days_back)


def day_due_at(deadline_timestamp: float) -> dt.date:
    """The Moscow day a freshness deadline (a cron tick, as a Unix timestamp) asks for: the day before the tick."""
    return dt.datetime.fromtimestamp(deadline_timestamp, MOSCOW).date() - dt.timedelta(days=1)
