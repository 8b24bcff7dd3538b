"""cluster_summaries for one day: a summary per cluster of the day (from the ``session_clusters``,
``session_cluster_members`` and ``replay_links`` tables), stored as the ``cluster_summaries`` table."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.replays.llm import LLMClient
from analytics_dagster.lib.replays.summaries import (
    ClusterDigest,
    ClusterSummary,
    RepresentativeSession,
    summarize_clusters,
)
from analytics_dagster.lib.replays.tables import ensure_tables, read_day, replace_day
from analytics_dagster.lib.warehouse import Warehouse

SUMMARY_COLUMNS = [
    "partition_date",
    "cluster_id",
    "title",
    "summary",
    "source",
    "model",
    "prompt",
    "prompt_sha256",
    "answer",
    "cached",
    "prompt_tokens",
    "completion_tokens",
]


@dataclass(frozen=True)
class DaySummaries:
    summaries: list[ClusterSummary]
    frame: pd.DataFrame  # the cluster_summaries rows
    missing: list[int]  # clusters of the day without a non-empty summary


def cluster_digests(clusters: pd.DataFrame, members: pd.DataFrame, links: pd.DataFrame) -> list[ClusterDigest]:
    """What a summary is written from, per row of ``session_clusters``: its size, top terms and representatives."""
    members_by_id = members.set_index("replay_id")
    urls = dict(zip(links["replay_id"], links["replay_url"]))
    return [
        ClusterDigest(
            cluster_id=int(row.cluster_id),
            size=int(row.size),
            share=float(row.share),
            top_terms=json.loads(row.top_terms),
            representatives=[
                RepresentativeSession(
                    replay_id=replay_id,
                    url=urls.get(replay_id, ""),
                    outline=members_by_id.at[replay_id, "event_outline"],
                    screen_text=members_by_id.at[replay_id, "screen_text"],
                )
                for replay_id in json.loads(row.representative_replay_ids)
            ],
        )
        for row in clusters.itertuples(index=False)
    ]


def store_day_summaries(
    wh: Warehouse,
    day: str,
    llm: LLMClient | None,
    *,
    language: str,
    warn: Callable[[str], None] = lambda message: None,
) -> DaySummaries:
    day_date = parse_day(day)
    ensure_tables(wh, "replay_links", "session_clusters", "session_cluster_members", "cluster_summaries")
    clusters = read_day(wh, "session_clusters", day_date)
    digests = cluster_digests(
        clusters, read_day(wh, "session_cluster_members", day_date), read_day(wh, "replay_links", day_date)
    )
    summaries = summarize_clusters(
        digests,
        llm,
        day=day,
        total_sessions=int(clusters["size"].sum()) if len(clusters) else 0,
        language=language,
        warn=warn,
    )
    frame = pd.DataFrame([{"partition_date": day_date, **vars(s)} for s in summaries], columns=SUMMARY_COLUMNS)
    replace_day(wh, "cluster_summaries", frame, day_date)
    missing = sorted(set(clusters["cluster_id"].astype(int)) - {s.cluster_id for s in summaries if s.summary.strip()})
    return DaySummaries(summaries, frame, missing)
