"""session_clusters for one day: the day's sessions clustered on their event sequence and what their screenshots
say, as the tables ``session_clusters`` (per cluster) and ``session_cluster_members`` (per session), and each
cluster's sessions handed to cluster_example_screenshots through the object store."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.clustering import ClusteringResult, cluster_documents
from analytics_dagster.lib.replays.llm import LLMClient
from analytics_dagster.lib.replays.screen_text import ScreenText, resolve_text_source, screen_texts
from analytics_dagster.lib.replays.sessions import ReplaySession
from analytics_dagster.lib.replays.storage import (
    ClusterMembers,
    load_screenshot_manifest,
    load_sessions,
    save_cluster_members,
)
from analytics_dagster.lib.replays.tables import ensure_tables, replace_day
from analytics_dagster.lib.replays.text import event_text, session_document
from analytics_dagster.lib.warehouse import Warehouse

CLUSTER_COLUMNS = [
    "partition_date",
    "cluster_id",
    "size",
    "share",
    "top_terms",
    "representative_replay_ids",
    "silhouette",
    "method",
]
MEMBER_COLUMNS = [
    "partition_date",
    "replay_id",
    "cluster_id",
    "silhouette",
    "representative_rank",
    "text_source",
    "event_outline",
    "screen_text",
]
_NO_TEXT = ScreenText("", "none")


@dataclass(frozen=True)
class ClusterAnalysis:
    """How screen text is read and sessions are clustered (the replay_analysis resource's choices)."""

    text_source: str
    clustering: str
    max_clusters: int
    tesseract: str | None
    vision_model: str | None  # None: no vision-capable LLM configured


@dataclass(frozen=True)
class DayClusters:
    sessions: int
    text_source: str  # where screen text came from (resolved from the requested one)
    result: ClusteringResult
    clusters: pd.DataFrame  # the session_clusters rows
    members: pd.DataFrame  # the session_cluster_members rows


def cluster_members(sessions: Sequence[ReplaySession], result: ClusteringResult) -> list[ClusterMembers]:
    """Each cluster's sessions, representatives first (nearest the centre first), the others in session order."""
    return [
        ClusterMembers(
            c.cluster_id,
            c.size,
            [sessions[i].replay_id for i in c.representatives]
            + [
                s.replay_id
                for i, s in enumerate(sessions)
                if result.labels[i] == c.cluster_id and i not in c.representatives
            ],
        )
        for c in result.clusters
    ]


def cluster_frames(
    day: dt.date, sessions: Sequence[ReplaySession], texts: dict[str, ScreenText], result: ClusteringResult
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The session_clusters and session_cluster_members rows of the day."""
    total = max(len(sessions), 1)
    clusters = pd.DataFrame(
        [
            {
                "partition_date": day,
                "cluster_id": c.cluster_id,
                "size": c.size,
                "share": c.size / total,
                "top_terms": json.dumps(c.top_terms, ensure_ascii=False),
                "representative_replay_ids": json.dumps([sessions[i].replay_id for i in c.representatives]),
                "silhouette": c.silhouette,
                "method": result.method,
            }
            for c in result.clusters
        ],
        columns=CLUSTER_COLUMNS,
    )
    ranks = {i: rank for c in result.clusters for rank, i in enumerate(c.representatives, start=1)}
    members = pd.DataFrame(
        [
            {
                "partition_date": day,
                "replay_id": s.replay_id,
                "cluster_id": result.labels[i],
                "silhouette": result.sample_silhouettes[i],
                "representative_rank": ranks.get(i),
                "text_source": texts.get(s.replay_id, _NO_TEXT).source,
                "event_outline": event_text(s),
                "screen_text": texts.get(s.replay_id, _NO_TEXT).text,
            }
            for i, s in enumerate(sessions)
        ],
        columns=MEMBER_COLUMNS,
    )
    members["representative_rank"] = members["representative_rank"].astype("Int64")
    return clusters, members


def store_day_clusters(
    wh: Warehouse,
    store: ObjectStore,
    day: str,
    analysis: ClusterAnalysis,
    vision_llm: Callable[[], LLMClient | None],
    *,
    log: Callable[[str], None] = lambda message: None,
    warn: Callable[[str], None] = lambda message: None,
) -> DayClusters:
    """Clusters the day's sessions (the hand-overs of replay_links and replay_screenshots) and replaces the day in
    both tables. ``vision_llm`` is called only when the screen text comes from a vision model."""
    sessions = load_sessions(store, day)
    manifest = load_screenshot_manifest(store, day)
    source = resolve_text_source(
        analysis.text_source, vision_model=analysis.vision_model, tesseract=analysis.tesseract, demo=manifest.demo
    )
    log(f"Screen text from: {source}; clustering {len(sessions)} sessions with {analysis.clustering}")
    by_id = {s.replay_id: s for s in sessions}
    texts = screen_texts(
        manifest.replays,
        source,
        store=store,
        llm=vision_llm() if source == "vision" else None,
        vision_model=analysis.vision_model,
        tesseract=analysis.tesseract,
        describe=lambda shots: (
            f"{by_id[shots.replay_id].event_count} events on {', '.join(by_id[shots.replay_id].pages[:8])}"
        ),
        warn=warn,
    )
    documents = [session_document(s, texts.get(s.replay_id, _NO_TEXT).text) for s in sessions]
    result = cluster_documents(documents, method=analysis.clustering, max_clusters=analysis.max_clusters)
    save_cluster_members(store, day, cluster_members(sessions, result))
    day_date = parse_day(day)
    clusters, members = cluster_frames(day_date, sessions, texts, result)
    ensure_tables(wh, "session_clusters", "session_cluster_members")
    replace_day(wh, "session_clusters", clusters, day_date)
    replace_day(wh, "session_cluster_members", members, day_date)
    return DayClusters(len(sessions), source, result, clusters, members)
