"""Replay sessions as the rest of the stage sees them: who, when, and the sequence of events with what they show.

A session is built from its warehouse rows (``events_part`` joined with ``tmp_event_properties``). The event
properties that matter for a replay (page, title, clicked element, error, search query...) are looked up under the
names the Amplitude Browser SDK autocapture uses and under the common custom names, so real and demo data read
the same way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

# Longer sessions keep their first events only: enough to draw the replay and describe it, bounded in size.
MAX_EVENTS_PER_SESSION = 400

_PAGE_KEYS = (
    "page_path",
    "[Amplitude] Page Path",
    "path",
    "screen_name",
    "screen",
    "page",
    "[Amplitude] Page URL",
    "url",
)
_TITLE_KEYS = ("page_title", "[Amplitude] Page Title", "title", "screen_title")
_ELEMENT_KEYS = ("button_text", "[Amplitude] Element Text", "element_text", "button", "link_text", "label")
_ERROR_KEYS = ("error_message", "[Amplitude] Error Message", "error", "error_text", "message", "reason")
# Small properties that say what happened (what was searched, how many results, which field failed...).
_DETAIL_KEYS = ("query", "search_term", "results_count", "field", "method", "payment_method", "category", "variant")
_DETAIL_MAX_CHARS = 80


@dataclass(frozen=True)
class SessionEvent:
    time: dt.datetime  # naive UTC
    event_type: str
    page: str | None = None
    title: str | None = None
    element: str | None = None
    error: str | None = None
    details: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """How a replay draws the event: an error, a click, a search, a page view or anything else."""
        if self.error:
            return "error"
        if "query" in self.details or "search_term" in self.details:
            return "search"
        if self.element:
            return "click"
        if self.title or re.search(r"page|screen", self.event_type, re.IGNORECASE):
            return "page"
        return "event"

    def outline(self) -> str:
        """One line for texts and prompts, e.g. ``Payment Failed on /checkout: error "Card declined"``."""
        parts = [self.event_type]
        if self.page:
            parts.append(f"on {self.page}")
        if self.title:
            parts.append(f'"{self.title}"')
        if self.element:
            parts.append(f'clicked "{self.element}"')
        if self.details:
            parts.append("(" + ", ".join(f"{k} {v}" for k, v in self.details.items()) + ")")
        if self.error:
            parts.append(f'error "{self.error}"')
        return " ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = self.time.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionEvent:
        return cls(**{**data, "time": dt.datetime.fromisoformat(data["time"]), "details": dict(data["details"])})


@dataclass(frozen=True)
class ReplaySession:
    replay_id: str  # '<device_id>/<session_id>'
    device_id: str
    session_id: int
    user_key: str
    user_id: str | None
    platform: str | None
    country: str | None
    event_count: int
    start: dt.datetime  # naive UTC
    end: dt.datetime
    events: tuple[SessionEvent, ...]

    @property
    def duration_seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def error_count(self) -> int:
        return sum(1 for e in self.events if e.error)

    @property
    def pages(self) -> list[str]:
        """Pages in the order first visited."""
        return list(dict.fromkeys(e.page for e in self.events if e.page))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["end"] = self.end.isoformat()
        data["events"] = [e.to_dict() for e in self.events]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplaySession:
        return cls(
            **{
                **data,
                "start": dt.datetime.fromisoformat(data["start"]),
                "end": dt.datetime.fromisoformat(data["end"]),
                "events": tuple(SessionEvent.from_dict(e) for e in data["events"]),
            }
        )


def parse_properties(value: Any) -> dict[str, Any]:
    """An event-properties bag from the warehouse: JSON text (DuckDB, BigQuery) or an already parsed dict."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (bytes, str)):
        parsed = json.loads(value) if value else {}
        return parsed if isinstance(parsed, dict) else {}
    raise TypeError(f"event_properties of type {type(value).__name__} is neither JSON text nor a mapping")


def _first_text(properties: Mapping[str, Any], keys: Iterable[str]) -> str | None:
    for key in keys:
        value = properties.get(key)
        if value is not None and not isinstance(value, (dict, list)) and str(value).strip():
            return str(value).strip()
    return None


def session_event(event_type: str, time: dt.datetime, properties: Mapping[str, Any]) -> SessionEvent:
    details = {
        key: str(properties[key])[:_DETAIL_MAX_CHARS]
        for key in _DETAIL_KEYS
        if properties.get(key) is not None and not isinstance(properties[key], (dict, list))
    }
    return SessionEvent(
        time=time,
        event_type=event_type,
        page=_first_text(properties, _PAGE_KEYS),
        title=_first_text(properties, _TITLE_KEYS),
        element=_first_text(properties, _ELEMENT_KEYS),
        error=_first_text(properties, _ERROR_KEYS),
        details=details,
    )


def _naive_utc(value: Any) -> dt.datetime:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC").tz_localize(None)
    return stamp.to_pydatetime()


def _optional_text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def sessions_from_events(events: pd.DataFrame) -> list[ReplaySession]:
    """Sessions from warehouse rows (columns as in ``sql/replays/replay_session_events.sql``), by replay id."""
    sessions = []
    for replay_id, rows in events.groupby("replay_id", sort=True):
        rows = rows.sort_values(["event_time", "uuid"], kind="stable")
        times = [_naive_utc(t) for t in rows["event_time"]]
        built = [
            session_event(str(event_type), time, parse_properties(properties))
            for event_type, time, properties in zip(
                rows["event_type"].head(MAX_EVENTS_PER_SESSION),
                times[:MAX_EVENTS_PER_SESSION],
                rows["event_properties"].head(MAX_EVENTS_PER_SESSION),
            )
        ]
        user_ids = [u for u in (_optional_text(v) for v in rows["user_id"]) if u]
        first = rows.iloc[0]
        sessions.append(
            ReplaySession(
                replay_id=str(replay_id),
                device_id=str(first["device_id"]),
                session_id=int(first["session_id"]),
                # The session's last identity: one that signs up or logs in ends as that user.
                user_key=str(rows["user_key"].iloc[-1]),
                user_id=user_ids[-1] if user_ids else None,
                platform=_optional_text(first["platform"]),
                country=_optional_text(first["country"]),
                event_count=len(rows),
                start=times[0],
                end=times[-1],
                events=tuple(built),
            )
        )
    return sessions


def sample_sessions(sessions: Sequence[ReplaySession], limit: int) -> list[ReplaySession]:
    """At most ``limit`` sessions, an unbiased sample that is the same on every rerun (by a hash of the replay id),
    returned in replay-id order."""
    if len(sessions) <= limit:
        return sorted(sessions, key=lambda s: s.replay_id)
    ranked = sorted(sessions, key=lambda s: hashlib.sha256(s.replay_id.encode()).hexdigest())
    return sorted(ranked[:limit], key=lambda s: s.replay_id)
