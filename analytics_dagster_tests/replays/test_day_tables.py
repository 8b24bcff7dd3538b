"""The rows the replay stage stores and reads back, built without Dagster or a warehouse (lib/replays/day_*.py)."""

from __future__ import annotations

import datetime as dt
import json

from analytics_dagster.lib.replays.browser import CaptureResult
from analytics_dagster.lib.replays.clustering import cluster_documents
from analytics_dagster.lib.replays.day_clusters import (
    CLUSTER_COLUMNS,
    MEMBER_COLUMNS,
    cluster_frames,
    cluster_members,
)
from analytics_dagster.lib.replays.day_screenshots import ScreenshotPass
from analytics_dagster.lib.replays.day_summaries import cluster_digests
from analytics_dagster.lib.replays.screen_text import ScreenText
from analytics_dagster.lib.replays.storage import ScreenshotManifest
from analytics_dagster.lib.replays.synthetic import synthetic_sessions
from analytics_dagster.lib.replays.text import session_document

DAY = dt.date(2026, 3, 9)


def _clustered_day():
    sessions = [s for _, s in synthetic_sessions(24, seed=3)]
    result = cluster_documents([session_document(s) for s in sessions], max_clusters=5)
    texts = {sessions[0].replay_id: ScreenText("Checkout | Shop", "page_text")}
    return sessions, texts, result


def test_cluster_rows_name_their_representatives_and_every_session_once():
    sessions, texts, result = _clustered_day()
    clusters, members = cluster_frames(DAY, sessions, texts, result)
    assert list(clusters.columns) == CLUSTER_COLUMNS and list(members.columns) == MEMBER_COLUMNS
    assert clusters["size"].sum() == len(sessions) == len(members)
    assert abs(clusters["share"].sum() - 1) < 1e-9 and set(clusters["method"]) == {result.method}
    for row in clusters.itertuples(index=False):
        representatives = json.loads(row.representative_replay_ids)
        ranked = members[members["cluster_id"] == row.cluster_id].dropna(subset=["representative_rank"])
        assert list(ranked.sort_values("representative_rank")["replay_id"]) == representatives
    first = members.set_index("replay_id").loc[sessions[0].replay_id]
    assert (first["text_source"], first["screen_text"]) == ("page_text", "Checkout | Shop")
    assert set(members["text_source"]) <= {"page_text", "none"}
    assert str(members["representative_rank"].dtype) == "Int64"

    handed_over = cluster_members(sessions, result)
    assert sorted(r for c in handed_over for r in c.replay_ids) == sorted(s.replay_id for s in sessions)
    for members_of, row in zip(handed_over, clusters.itertuples(index=False)):
        representatives = json.loads(row.representative_replay_ids)
        assert members_of.replay_ids[: len(representatives)] == representatives


def test_digests_carry_the_representatives_outline_screen_text_and_link():
    sessions, texts, result = _clustered_day()
    clusters, members = cluster_frames(DAY, sessions, texts, result)
    links = members[["replay_id"]].assign(replay_url=lambda f: "https://replay/" + f["replay_id"])
    digests = cluster_digests(clusters, members, links.iloc[1:])  # the first session has no link row
    assert [d.cluster_id for d in digests] == list(clusters["cluster_id"])
    by_id = members.set_index("replay_id")
    for digest in digests:
        for session in digest.representatives:
            assert session.outline == by_id.at[session.replay_id, "event_outline"]
            assert session.screen_text == by_id.at[session.replay_id, "screen_text"]
            linked = session.replay_id != sessions[0].replay_id
            assert session.url == (f"https://replay/{session.replay_id}" if linked else "")


def test_a_screenshot_pass_counts_failures_and_times_only_successes():
    results = [
        CaptureResult("a/1", "a_1", "http://a", "ok", 2.0),
        CaptureResult("b/2", "b_2", "http://b", "ok", 3.0),
        CaptureResult("c/3", "c_3", "http://c", "failed", 60.0, "timed out"),
    ]
    shots = ScreenshotPass(results, ScreenshotManifest("2026-03-09", True, 3, 3, []), 0, "m")
    assert (shots.succeeded, [r.replay_id for r in shots.failed]) == (2, ["c/3"])
    assert shots.seconds_per_replay == 2.5 and round(shots.failure_share, 3) == 0.333
    assert list(shots.preview()["error"]) == ["", "", "timed out"]
    empty = ScreenshotPass([], ScreenshotManifest("2026-03-09", True, 0, 0, []), 0, "m")
    assert (empty.failure_share, empty.seconds_per_replay, len(empty.preview())) == (0.0, 0.0, 0)
