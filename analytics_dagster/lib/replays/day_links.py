"""replay_links for one day: the day's replay sessions read from the warehouse, stored as the ``replay_links`` table
and handed to the next assets through the object store."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.links import ReplayLinkSettings, links_frame, parse_replay_id
from analytics_dagster.lib.replays.sessions import ReplaySession, sessions_from_events
from analytics_dagster.lib.replays.storage import save_sessions
from analytics_dagster.lib.replays.tables import ensure_tables, replace_day
from analytics_dagster.lib.warehouse import Warehouse


@dataclass(frozen=True)
class DayLinks:
    sessions: list[ReplaySession]
    events: int  # the day's events the sessions were built from
    frame: pd.DataFrame  # the replay_links rows
    mismatched: list[str]  # replay ids that are not '<device_id>/<session_id>' of their session


def store_day_links(wh: Warehouse, store: ObjectStore, day: dt.date, settings: ReplayLinkSettings) -> DayLinks:
    ensure_tables(wh, "replay_links")
    events = wh.query_file(
        "replays/replay_session_events.sql", {"day": day, "previous_day": day - dt.timedelta(days=1)}
    )
    sessions = sessions_from_events(events)
    frame = links_frame(day, sessions, settings)
    replace_day(wh, "replay_links", frame, day)
    save_sessions(store, day.isoformat(), sessions)
    mismatched = [s.replay_id for s in sessions if parse_replay_id(s.replay_id) != (s.device_id, s.session_id)]
    return DayLinks(sessions, len(events), frame, mismatched)
