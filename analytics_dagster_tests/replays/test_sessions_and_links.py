from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from analytics_dagster.lib.replays.links import ReplayLinkSettings, parse_replay_id, replay_key, replay_url
from analytics_dagster.lib.replays.sessions import (
    MAX_EVENTS_PER_SESSION,
    ReplaySession,
    sample_sessions,
    session_event,
    sessions_from_events,
)
from analytics_dagster.lib.replays.synthetic import synthetic_sessions

T0 = dt.datetime(2026, 3, 15, 9, 0, 0)


def test_replay_url_is_the_documented_link_with_the_id_url_encoded():
    settings = ReplayLinkSettings(org_url="acme", project_id="123456")
    assert replay_url("a1b2-c3/1773565200000", settings) == (
        "https://app.amplitude.com/analytics/acme/session-replay/project/123456/search/replay"
        "?sessionReplayId=a1b2-c3%2F1773565200000"
    )
    eu = ReplayLinkSettings(org_url="acme", project_id="1", region="eu")
    assert replay_url("d/1", eu).startswith("https://app.eu.amplitude.com/analytics/acme/")
    proxied = ReplayLinkSettings(org_url="acme", project_id="1", app_url="http://127.0.0.1:9/")
    assert replay_url("d/1", proxied).startswith("http://127.0.0.1:9/analytics/acme/")
    assert "sessionReplayId=we%20ird%26dev%2F5" in replay_url("we ird&dev/5", settings)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"region": "asia"}, "AMPLITUDE_REGION"),
        ({"org_url": "a/b"}, "AMPLITUDE_ORG_URL"),
        ({"project_id": "x1"}, "AMPLITUDE_PROJECT_ID"),
    ],
)
def test_link_settings_name_the_bad_variable(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ReplayLinkSettings(**kwargs)


def test_replay_ids_parse_and_map_to_safe_folders():
    assert parse_replay_id("device/with/slash/42") == ("device/with/slash", 42)
    assert replay_key("device/with/slash/42") == "device_with_slash/42"
    assert replay_key("ab..\\c d/7") == "ab.._c_d/7"
    for bad in ("no-session", "/12", "device/abc"):
        with pytest.raises(ValueError, match="not '<device_id>/<session_id>'"):
            parse_replay_id(bad)


def test_session_events_read_autocapture_and_custom_property_names():
    autocaptured = session_event(
        "[Amplitude] Element Clicked", T0, {"[Amplitude] Page Path": "/cart", "[Amplitude] Element Text": "Pay now"}
    )
    assert (autocaptured.page, autocaptured.element, autocaptured.kind) == ("/cart", "Pay now", "click")
    failed = session_event(
        "Payment Failed", T0, {"page_path": "/checkout", "error_message": "Card declined", "amount": 5}
    )
    assert failed.kind == "error" and failed.details == {}
    assert failed.outline() == 'Payment Failed on /checkout error "Card declined"'
    search = session_event("Search Performed", T0, {"query": "lamp", "results_count": 0, "page_path": "/search"})
    assert search.kind == "search" and search.details == {"query": "lamp", "results_count": "0"}
    page = session_event("Page Viewed", T0, {"page_path": "/", "page_title": "Shop", "nested": {"a": 1}})
    assert page.kind == "page" and page.title == "Shop"


def _rows(replay_id: str, events: list[tuple[str, dict | str]], user_ids: list[str | None]) -> list[dict]:
    device, session = replay_id.rsplit("/", 1)
    return [
        {
            "replay_id": replay_id,
            "uuid": f"{replay_id}-{i}",
            "device_id": device,
            "session_id": int(session),
            "user_key": user_ids[i] or f"device:{device}",
            "user_id": user_ids[i],
            "platform": "Web",
            "country": None,
            "event_type": event_type,
            "event_time": pd.Timestamp(T0 + dt.timedelta(seconds=10 * i)),
            "event_properties": properties,
        }
        for i, (event_type, properties) in enumerate(events)
    ]


def test_sessions_from_warehouse_rows_take_json_text_or_parsed_properties():
    rows = _rows(
        "dev-1/100",
        [
            ("Page Viewed", json.dumps({"page_path": "/login"})),
            ("Login Failed", {"error_message": "Invalid password"}),
            ("Login", None),
        ],
        [None, None, "user-7"],
    ) + _rows("dev-2/200", [("Page Viewed", "")], [None])
    sessions = sessions_from_events(pd.DataFrame(rows).sample(frac=1, random_state=3))
    first, second = sessions
    assert first.replay_id == "dev-1/100" and first.session_id == 100 and first.event_count == 3
    assert [e.event_type for e in first.events] == ["Page Viewed", "Login Failed", "Login"]
    assert (first.user_key, first.user_id, first.error_count, first.pages) == ("user-7", "user-7", 1, ["/login"])
    assert first.duration_seconds == 20.0 and first.country is None
    assert second.events[0].page is None and second.duration_seconds == 0.0
    assert ReplaySession.from_dict(json.loads(json.dumps(first.to_dict()))) == first


def test_long_sessions_keep_their_first_events_and_their_true_count():
    rows = _rows(
        "dev/1",
        [("Page Viewed", {"page_path": f"/p{i}"}) for i in range(MAX_EVENTS_PER_SESSION + 25)],
        [None] * (MAX_EVENTS_PER_SESSION + 25),
    )
    [session] = sessions_from_events(pd.DataFrame(rows))
    assert len(session.events) == MAX_EVENTS_PER_SESSION and session.event_count == MAX_EVENTS_PER_SESSION + 25
    assert session.end == T0 + dt.timedelta(seconds=10 * (MAX_EVENTS_PER_SESSION + 24))


def test_the_daily_cap_takes_the_same_unbiased_sample_on_every_rerun():
    sessions = [s for _, s in synthetic_sessions(40)]
    picked = sample_sessions(sessions, 10)
    assert len(picked) == 10 and picked == sample_sessions(list(reversed(sessions)), 10)
    assert [s.replay_id for s in picked] == sorted(s.replay_id for s in picked)
    assert picked != sorted(sessions, key=lambda s: s.replay_id)[:10]  # not just the first ids
    assert sample_sessions(sessions[:3], 10) == sorted(sessions[:3], key=lambda s: s.replay_id)
