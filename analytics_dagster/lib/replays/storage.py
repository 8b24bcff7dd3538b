"""Where the replay stage keeps its files in the object store, and the day's hand-over files between its assets.

replays/<day>/sessions.json.gz                      the day's replay sessions with their events (replay_links)
replays/<day>/screenshots/<device>/<session>/NN.png  screenshots (replay_screenshots)
replays/<day>/screenshots/_manifest.json            per replay: status, error, screenshot keys, page text
replays/<day>/clusters.json                         each cluster's sessions, representatives first (session_clusters)
replays/<day>/cluster_examples/...                  screenshots of clusters that had none, same layout and manifest
                                                    as screenshots/ (cluster_example_screenshots)
reports/replays/<day>/report.md, report.html, *.png the daily report (replay_report)
llm_cache/<sha256>.json, llm_usage/<day>.json       LLM answers and the day's token use
ocr_cache/<sha256 of the PNG>.txt                   Tesseract's reading of a screenshot
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.sessions import ReplaySession

MANIFEST_NAME = "_manifest.json"


def sessions_key(day: str) -> str:
    return f"replays/{day}/sessions.json.gz"


def screenshots_prefix(day: str) -> str:
    return f"replays/{day}/screenshots/"


def cluster_examples_prefix(day: str) -> str:
    return f"replays/{day}/cluster_examples/"


def clusters_key(day: str) -> str:
    return f"replays/{day}/clusters.json"


def report_prefix(day: str) -> str:
    return f"reports/replays/{day}/"


def save_sessions(store: ObjectStore, day: str, sessions: list[ReplaySession]) -> str:
    payload = json.dumps({"day": day, "sessions": [s.to_dict() for s in sessions]}, ensure_ascii=False)
    store.put_bytes(sessions_key(day), gzip.compress(payload.encode(), mtime=0))
    return sessions_key(day)


def load_sessions(store: ObjectStore, day: str) -> list[ReplaySession]:
    key = sessions_key(day)
    if not store.exists(key):
        raise FileNotFoundError(f"{key} is missing: materialize replay_links for {day} first")
    payload = json.loads(gzip.decompress(store.get_bytes(key)))
    return [ReplaySession.from_dict(s) for s in payload["sessions"]]


@dataclass(frozen=True)
class ShotRecord:
    key: str  # object-store key of the PNG
    position: float
    page_text: str


@dataclass
class ReplayShots:
    replay_id: str
    url: str
    status: str  # 'ok' or 'failed'
    seconds: float
    error: str | None = None
    screenshots: list[ShotRecord] = field(default_factory=list)


@dataclass
class ScreenshotManifest:
    day: str
    demo: bool
    selected: int  # replays picked for the day (after the cap)
    available: int  # replays the day had
    replays: list[ReplayShots] = field(default_factory=list)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "day": self.day,
            "demo": self.demo,
            "selected": self.selected,
            "available": self.available,
            "replays": [
                {
                    **{k: v for k, v in vars(r).items() if k != "screenshots"},
                    "screenshots": [vars(s) for s in r.screenshots],
                }
                for r in self.replays
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ScreenshotManifest:
        data = json.loads(raw)
        replays = [
            ReplayShots(**{**r, "screenshots": [ShotRecord(**s) for s in r["screenshots"]]}) for r in data["replays"]
        ]
        return cls(data["day"], data["demo"], data["selected"], data["available"], replays)


def load_screenshot_manifest(store: ObjectStore, day: str) -> ScreenshotManifest:
    key = screenshots_prefix(day) + MANIFEST_NAME
    if not store.exists(key):
        raise FileNotFoundError(f"{key} is missing: materialize replay_screenshots for {day} first")
    return ScreenshotManifest.from_json(store.get_bytes(key))


def load_cluster_examples(store: ObjectStore, day: str) -> ScreenshotManifest | None:
    """The screenshots taken after clustering, or None when cluster_example_screenshots has not run for the day."""
    key = cluster_examples_prefix(day) + MANIFEST_NAME
    return ScreenshotManifest.from_json(store.get_bytes(key)) if store.exists(key) else None


@dataclass(frozen=True)
class ClusterMembers:
    cluster_id: int
    size: int
    replay_ids: list[str]  # representatives first (best first), then the other members


def save_cluster_members(store: ObjectStore, day: str, clusters: list[ClusterMembers]) -> None:
    payload = {"day": day, "clusters": [vars(c) for c in clusters]}
    store.put_bytes(clusters_key(day), json.dumps(payload, indent=1).encode())


def load_cluster_members(store: ObjectStore, day: str) -> list[ClusterMembers]:
    key = clusters_key(day)
    if not store.exists(key):
        raise FileNotFoundError(f"{key} is missing: materialize session_clusters for {day} first")
    return [ClusterMembers(**c) for c in json.loads(store.get_bytes(key))["clusters"]]
