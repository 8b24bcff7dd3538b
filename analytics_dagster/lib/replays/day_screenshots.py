"""The day's screenshot passes: replay_screenshots (a sample of the day's replays within the daily budget) and
cluster_example_screenshots (the budget kept back, spent on clusters none of whose sessions was screenshotted).
Each pass replaces its prefix in the object store with the PNGs and their manifest."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.browser import (
    BrowserSettings,
    CaptureResult,
    PlayerProfile,
    ReplayJob,
    capture_replays_sync,
)
from analytics_dagster.lib.replays.demo_player import render_demo_player, serve_demo_pages
from analytics_dagster.lib.replays.examples import first_pass_size, replays_needing_examples
from analytics_dagster.lib.replays.links import ReplayLinkSettings, replay_key, replay_url
from analytics_dagster.lib.replays.sessions import ReplaySession, sample_sessions
from analytics_dagster.lib.replays.storage import (
    MANIFEST_NAME,
    ReplayShots,
    ScreenshotManifest,
    ShotRecord,
    cluster_examples_prefix,
    load_cluster_members,
    load_screenshot_manifest,
    load_sessions,
    screenshots_prefix,
)


@dataclass(frozen=True)
class ReplayCapture:
    """Where the replays are played and how: Amplitude's player, or (demo) pages rendered from the events."""

    demo: bool
    links: ReplayLinkSettings
    browser: BrowserSettings
    player: PlayerProfile


@dataclass(frozen=True)
class ScreenshotPass:
    results: list[CaptureResult]
    manifest: ScreenshotManifest
    screenshots: int  # PNG files stored
    manifest_key: str

    @property
    def failed(self) -> list[CaptureResult]:
        return [r for r in self.results if r.status != "ok"]

    @property
    def succeeded(self) -> int:
        return len(self.results) - len(self.failed)

    @property
    def failure_share(self) -> float:
        return len(self.failed) / len(self.results) if self.results else 0.0

    @property
    def seconds_per_replay(self) -> float:
        """Mean capture time of the replays that succeeded."""
        ok_seconds = [r.seconds for r in self.results if r.status == "ok"]
        return round(sum(ok_seconds) / len(ok_seconds), 2) if ok_seconds else 0.0

    def preview(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {"replay": r.replay_id, "status": r.status, "seconds": f"{r.seconds:.1f}", "error": r.error or ""}
                for r in self.results
            ]
        )


def _capture(sessions: list[ReplaySession], capture: ReplayCapture, out_dir: Path) -> list[CaptureResult]:
    """Amplitude's player for each session, or (demo) the session's own replay page served from 127.0.0.1."""
    if not capture.demo:
        jobs = [
            ReplayJob(s.replay_id, replay_url(s.replay_id, capture.links), replay_key(s.replay_id)) for s in sessions
        ]
        return capture_replays_sync(jobs, out_dir, capture.browser, capture.player)
    pages = {replay_key(s.replay_id): render_demo_player(s) for s in sessions}
    with serve_demo_pages(pages) as base_url:
        jobs = [ReplayJob(s.replay_id, base_url + replay_key(s.replay_id), replay_key(s.replay_id)) for s in sessions]
        return capture_replays_sync(jobs, out_dir, capture.browser, capture.player)


def _screenshot_to_store(
    store: ObjectStore, prefix: str, day: str, selected: list[ReplaySession], available: int, capture: ReplayCapture
) -> ScreenshotPass:
    """Screenshots ``selected`` and replaces ``prefix`` in the object store with the PNGs and their manifest."""
    with tempfile.TemporaryDirectory(prefix="replay-shots-") as tmp:
        results = _capture(selected, capture, Path(tmp))
        files = {f"{r.key}/{shot.path.name}": shot.path for r in results for shot in r.screenshots}
        manifest = ScreenshotManifest(
            day=day,
            demo=capture.demo,
            selected=len(selected),
            available=available,
            replays=[
                ReplayShots(
                    replay_id=r.replay_id,
                    url=replay_url(r.replay_id, capture.links),
                    status=r.status,
                    seconds=round(r.seconds, 3),
                    error=r.error,
                    screenshots=[
                        ShotRecord(f"{prefix}{r.key}/{shot.path.name}", shot.position, shot.page_text)
                        for shot in r.screenshots
                    ],
                )
                for r in results
            ],
        )
        store.replace_prefix(prefix, files, commit_name=MANIFEST_NAME, commit_data=manifest.to_json())
    return ScreenshotPass(results, manifest, len(files), prefix + MANIFEST_NAME)


def screenshot_day(
    store: ObjectStore,
    day: str,
    capture: ReplayCapture,
    *,
    budget: int,
    reserve: int,
    log: Callable[[str], None] = lambda message: None,
) -> tuple[int, ScreenshotPass]:
    """The first pass over the day's sessions (the stored hand-over of replay_links): how many sessions there were,
    and the pass. Part of the budget is kept back for clusters left without an example."""
    sessions = load_sessions(store, day)
    selected = sample_sessions(sessions, first_pass_size(len(sessions), budget, reserve))
    log(
        f"Screenshotting {len(selected)} of {len(sessions)} replays (daily budget {budget}, the rest kept for "
        f"clusters left without an example), {capture.browser.concurrency} at a time"
    )
    return len(sessions), _screenshot_to_store(store, screenshots_prefix(day), day, selected, len(sessions), capture)


@dataclass(frozen=True)
class ClusterExamples:
    clusters: int
    without_example_before: int
    without_example_after: int
    budget_left_before: int
    shots: ScreenshotPass


def screenshot_cluster_examples(
    store: ObjectStore, day: str, capture: ReplayCapture, *, budget: int, log: Callable[[str], None] = lambda m: None
) -> ClusterExamples:
    """Spends what the first pass left of the daily budget on the best representatives of the clusters none of whose
    sessions was screenshotted, largest clusters first."""
    first_pass = load_screenshot_manifest(store, day)
    clusters = load_cluster_members(store, day)
    screenshotted = {r.replay_id for r in first_pass.replays if r.status == "ok" and r.screenshots}
    remaining = budget - len(first_pass.replays)
    wanted = set(replays_needing_examples(clusters, screenshotted, remaining))
    without = [c for c in clusters if not any(r in screenshotted for r in c.replay_ids)]
    log(
        f"{len(without)} of {len(clusters)} clusters have no screenshot; taking {len(wanted)} "
        f"({remaining} left of the daily budget)"
    )
    selected = [s for s in load_sessions(store, day) if s.replay_id in wanted]
    shots = _screenshot_to_store(store, cluster_examples_prefix(day), day, selected, len(without), capture)
    shot = screenshotted | {r.replay_id for r in shots.manifest.replays if r.status == "ok" and r.screenshots}
    return ClusterExamples(
        clusters=len(clusters),
        without_example_before=len(without),
        without_example_after=sum(1 for c in clusters if not any(r in shot for r in c.replay_ids)),
        budget_left_before=max(remaining, 0),
        shots=shots,
    )
