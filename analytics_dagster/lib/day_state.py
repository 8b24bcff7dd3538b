"""The state of a metric day: what users may trust about its figures.

A metric day D counts events by the Moscow day they happened, and an event counts when it was uploaded at most
``late_days`` days later, so D's figures depend on the upload days D..D+late_days of every configured source. The
state is derived from which of those upload days are loaded into the warehouse (and which loads failed):

* **final**: every upload day of the window is loaded for every configured source, and the day has events;
* **preliminary**: nothing inside the window is missing, but its later upload days are still to come (they are
  after the newest upload day loaded for that source);
* **incomplete**: an upload day inside the window is missing (a gap before a loaded day) or its load failed;
* **no data**: no event counts for the day. Never final, whatever is loaded.

This is the one place that decides; asset metadata, the ``day_state`` asset check, the dashboard badge, exported
reports and ``make status`` all show what it returns.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass


class DayStatus(enum.StrEnum):
    FINAL = "final"
    PRELIMINARY = "preliminary"
    INCOMPLETE = "incomplete"
    NO_DATA = "no data"


@dataclass(frozen=True, order=True)
class UploadDay:
    """One upload day of one source that a metric day waits for, and why it is not loaded."""

    source: str
    day: dt.date
    reason: str  # "pending" (still to come), "missing" (a gap before a loaded day) or "failed" (its load failed)

    def __str__(self) -> str:
        return f"{self.source} {self.day.isoformat()} ({self.reason})"


@dataclass(frozen=True)
class DayState:
    day: dt.date
    status: DayStatus
    window: tuple[dt.date, dt.date]  # the upload days the figures depend on, both ends inclusive
    sources: tuple[str, ...]  # the configured sources the window was checked for
    events: int  # events counted for the day
    not_loaded: tuple[UploadDay, ...]  # upload days of the window that are not loaded, sorted

    @property
    def is_final(self) -> bool:
        return self.status is DayStatus.FINAL

    @property
    def pending(self) -> tuple[UploadDay, ...]:
        return tuple(u for u in self.not_loaded if u.reason == "pending")

    @property
    def missing(self) -> tuple[UploadDay, ...]:
        return tuple(u for u in self.not_loaded if u.reason != "pending")

    def detail(self) -> str:
        """One sentence saying why the day has its state, naming the upload days concerned."""
        first, last = (d.isoformat() for d in self.window)
        sources = ", ".join(self.sources) or "no configured source"
        if self.status is DayStatus.FINAL:
            return f"every upload day {first}..{last} of {sources} is loaded"
        parts = []
        if self.status is DayStatus.NO_DATA:
            parts.append("no event of this day is loaded")
        if self.missing:
            parts.append("missing or failed upload days: " + ", ".join(map(str, self.missing)))
        if self.pending:
            parts.append("awaiting upload days: " + ", ".join(map(str, self.pending)))
        if self.status is DayStatus.NO_DATA and not self.not_loaded:
            parts.append(f"every upload day {first}..{last} of {sources} is loaded")
        return "; ".join(parts)

    def label(self) -> str:
        """The short text of a badge: the status and its reason."""
        return f"{self.status.value}: {self.detail()}"

    def as_metadata(self) -> dict[str, object]:
        """The same keys everywhere the state is shown in Dagster (asset metadata, check metadata)."""
        return {
            "day_state": self.status.value,
            "day_state_detail": self.detail(),
            "figures_final": self.is_final,
            "upload_window": f"{self.window[0].isoformat()}..{self.window[1].isoformat()}",
            "missing_upload_days": ", ".join(map(str, self.missing)) or "none",
            "pending_upload_days": ", ".join(map(str, self.pending)) or "none",
        }


def upload_window(day: dt.date, late_days: int) -> tuple[dt.date, dt.date]:
    return day, day + dt.timedelta(days=late_days)


def day_state(
    day: dt.date,
    loaded: Mapping[str, Collection[dt.date]],
    events: int,
    *,
    late_days: int,
    failed: Mapping[str, Collection[dt.date]] | None = None,
) -> DayState:
    """The state of metric day ``day``.

    ``loaded`` maps every configured source to the upload days loaded into the warehouse for it (a source that is
    configured but has loaded nothing maps to an empty collection); ``failed`` to the upload days whose latest
    ingest or DWH run failed (their older data may still be in the warehouse, but it is not what the source has
    now). ``events`` is the number of events counted for the day.
    """
    failed = failed or {}
    first, last = upload_window(day, late_days)
    not_loaded: list[UploadDay] = []
    for source, days in sorted(loaded.items()):
        loaded_days = set(days)
        newest = max(loaded_days, default=None)
        failed_days = set(failed.get(source, ()))
        for offset in range(late_days + 1):
            upload = first + dt.timedelta(days=offset)
            if upload in failed_days:
                not_loaded.append(UploadDay(source, upload, "failed"))
            elif upload in loaded_days:
                continue
            elif newest is not None and upload < newest:
                not_loaded.append(UploadDay(source, upload, "missing"))
            else:
                not_loaded.append(UploadDay(source, upload, "pending"))
    not_loaded.sort()
    if events <= 0:
        status = DayStatus.NO_DATA
    elif any(u.reason != "pending" for u in not_loaded):
        status = DayStatus.INCOMPLETE
    elif not_loaded:
        status = DayStatus.PRELIMINARY
    else:
        status = DayStatus.FINAL
    return DayState(day, status, (first, last), tuple(sorted(loaded)), events, tuple(not_loaded))


def metric_days_touched(
    first_upload: dt.date, last_upload: dt.date, late_days: int, first_day: dt.date, computed: Iterable[dt.date] = ()
) -> list[dt.date]:
    """The metric days whose figures the upload days ``first_upload..last_upload`` can change, to recompute.

    Upload day U carries events of U-late_days..U, so the metric days from ``first_upload - late_days`` (never
    before ``first_day``, the first partition) to ``last_upload`` change. So do the metric days after the range
    that are already ``computed``: their windows (WAU, MAU, retention, forecasts' history) and "new user" (first
    active day in all history) reach back into it. In daily operation there are none; after a backfill of a gap or
    the reload of an old day they are recomputed too, so no stored day is left computed from older data.
    """
    day = max(first_upload - dt.timedelta(days=late_days), first_day)
    days = []
    while day <= last_upload:
        days.append(day)
        day += dt.timedelta(days=1)
    return days + sorted({d for d in computed if d > last_upload})
