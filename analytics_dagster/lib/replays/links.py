"""Links to Amplitude's session replay player, in the documented form.

``https://app.amplitude.com/analytics/<org url>/session-replay/project/<projectId>/search/replay?sessionReplayId=<id>``
where the id is the event property ``[Amplitude] Session Replay ID`` = ``<device_id>/<session_id>``, URL-encoded.
EU projects live on ``app.eu.amplitude.com``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pandas as pd

from analytics_dagster.lib.replays.sessions import ReplaySession

APP_HOSTS = {"us": "https://app.amplitude.com", "eu": "https://app.eu.amplitude.com"}
DEMO_PROJECT_ID = "100001"
DEMO_ORG_URL = "demo-org"
LINK_COLUMNS = [
    "partition_date",
    "replay_id",
    "replay_url",
    "user_key",
    "user_id",
    "device_id",
    "session_id",
    "session_start",
    "session_end",
    "duration_seconds",
    "event_count",
    "error_count",
    "platform",
    "country",
]


@dataclass(frozen=True)
class ReplayLinkSettings:
    org_url: str = DEMO_ORG_URL
    project_id: str = DEMO_PROJECT_ID
    region: str = "us"
    app_url: str | None = None  # overrides the host, e.g. for a proxy or a test server

    def __post_init__(self) -> None:
        if self.region not in APP_HOSTS:
            raise ValueError(f"AMPLITUDE_REGION={self.region!r} is not supported; choose one of {sorted(APP_HOSTS)}")
        if not self.org_url or "/" in self.org_url:
            raise ValueError(f"AMPLITUDE_ORG_URL={self.org_url!r} must be the organisation's URL name, e.g. 'acme'")
        if not str(self.project_id).isdigit():
            raise ValueError(f"AMPLITUDE_PROJECT_ID={self.project_id!r} must be a number")

    @property
    def host(self) -> str:
        return (self.app_url or APP_HOSTS[self.region]).rstrip("/")


def parse_replay_id(replay_id: str) -> tuple[str, int]:
    """``<device_id>/<session_id>`` -> (device_id, session_id); the device id may itself contain slashes."""
    device_id, separator, session = replay_id.rpartition("/")
    if not separator or not device_id or not re.fullmatch(r"-?\d+", session):
        raise ValueError(f"session replay id {replay_id!r} is not '<device_id>/<session_id>'")
    return device_id, int(session)


def replay_url(replay_id: str, settings: ReplayLinkSettings) -> str:
    parse_replay_id(replay_id)
    return (
        f"{settings.host}/analytics/{quote(settings.org_url, safe='')}/session-replay/project/"
        f"{settings.project_id}/search/replay?sessionReplayId={quote(replay_id, safe='')}"
    )


def replay_key(replay_id: str) -> str:
    """The replay's folder in the object store: ``<device_id>/<session_id>`` with unsafe characters replaced."""
    device_id, session_id = parse_replay_id(replay_id)
    return f"{re.sub(r'[^A-Za-z0-9._-]', '_', device_id).strip('.') or '_'}/{session_id}"


def links_frame(day: dt.date, sessions: Sequence[ReplaySession], settings: ReplayLinkSettings) -> pd.DataFrame:
    """Rows of the ``replay_links`` table (``sql/replays/ddl/replay_links.sql``) for the day's sessions."""
    rows = [
        {
            "partition_date": day,
            "replay_id": s.replay_id,
            "replay_url": replay_url(s.replay_id, settings),
            "user_key": s.user_key,
            "user_id": s.user_id,
            "device_id": s.device_id,
            "session_id": s.session_id,
            "session_start": s.start,
            "session_end": s.end,
            "duration_seconds": s.duration_seconds,
            "event_count": s.event_count,
            "error_count": s.error_count,
            "platform": s.platform,
            "country": s.country,
        }
        for s in sessions
    ]
    return pd.DataFrame(rows, columns=LINK_COLUMNS)
