"""replay_report for one day: the report (Markdown and self-contained HTML with its example screenshots) built from
the day's replay tables and screenshot manifests, stored under ``reports/replays/<day>/`` in the object store."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analytics_dagster.lib.dwh.etl import ensure_load_log
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.links import replay_key
from analytics_dagster.lib.replays.report import (
    FailedReplay,
    ReplayReport,
    ReportCluster,
    ReportSession,
    render_html,
    render_markdown,
)
from analytics_dagster.lib.replays.storage import (
    MANIFEST_NAME,
    ScreenshotManifest,
    load_cluster_examples,
    load_screenshot_manifest,
    report_prefix,
)
from analytics_dagster.lib.replays.tables import ensure_tables, read_day
from analytics_dagster.lib.warehouse import Warehouse


@dataclass(frozen=True)
class DayReport:
    report: ReplayReport
    markdown: str
    html: str
    images: dict[str, bytes]  # PNG file name beside the report -> its bytes
    prefix: str  # where the report's files are in the object store

    def files(self) -> dict[str, tuple[bytes, str]]:
        """The report's files with their MIME types, as published elsewhere (Google Drive)."""
        return {
            "report.md": (self.markdown.encode(), "text/markdown"),
            "report.html": (self.html.encode(), "text/html"),
            **{name: (png, "image/png") for name, png in self.images.items()},
        }


def build_report(
    day: str,
    manifests: list[ScreenshotManifest],
    clusters: pd.DataFrame,
    members: pd.DataFrame,
    summaries: pd.DataFrame,
    links: pd.DataFrame,
    method: str,
    is_demo: bool,
) -> tuple[ReplayReport, dict[str, str]]:
    """The report and the screenshots it shows (file name beside the report -> object-store key). ``manifests``:
    the day's screenshots, then those taken for clusters that had none."""
    shot_replays = [r for manifest in manifests for r in manifest.replays]
    # The screenshot with the most on screen (latest on a tie) shows a session best: usually its struggle.
    example_shot = {
        r.replay_id: max(reversed(r.screenshots), key=lambda shot: len(shot.page_text)).key
        for r in shot_replays
        if r.status == "ok" and r.screenshots
    }
    links_by_id = links.set_index("replay_id")
    summaries_by_id = summaries.set_index("cluster_id")
    images: dict[str, str] = {}

    def report_session(replay_id: str) -> ReportSession:
        link = links_by_id.loc[replay_id]
        image = None
        if replay_id in example_shot:
            image = replay_key(replay_id).replace("/", "_") + ".png"
            images[image] = example_shot[replay_id]
        return ReportSession(
            replay_id=replay_id,
            url=link["replay_url"],
            user_key=link["user_key"],
            start=pd.Timestamp(link["session_start"]).to_pydatetime(),
            duration_seconds=float(link["duration_seconds"]),
            event_count=int(link["event_count"]),
            screenshot=image,
        )

    report_clusters = []
    for row in clusters.itertuples(index=False):
        summary = summaries_by_id.loc[row.cluster_id]
        sessions = [report_session(replay_id) for replay_id in json.loads(row.representative_replay_ids)]
        example = None
        if not any(session.screenshot for session in sessions):
            # No representative was screenshotted: show the cluster through another of its sessions.
            member_ids = members.loc[members["cluster_id"] == row.cluster_id, "replay_id"]
            example_id = next((replay_id for replay_id in member_ids if replay_id in example_shot), None)
            example = report_session(example_id) if example_id else None
        report_clusters.append(
            ReportCluster(
                cluster_id=int(row.cluster_id),
                size=int(row.size),
                share=float(row.share),
                title=summary["title"],
                summary=summary["summary"],
                source=summary["source"],
                model=None if pd.isna(summary["model"]) else summary["model"],
                cached=bool(summary["cached"]),
                top_terms=json.loads(row.top_terms),
                silhouette=None if pd.isna(row.silhouette) else float(row.silhouette),
                sessions=sessions,
                example=example,
            )
        )
    overall = members["silhouette"].dropna()
    sources = Counter(members["text_source"])
    report = ReplayReport(
        day=day,
        is_demo=is_demo,
        demo=manifests[0].demo,
        sessions_with_replays=len(links),
        screenshotted=sum(1 for r in shot_replays if r.status == "ok"),
        clustering_method=method,
        silhouette=float(overall.mean()) if len(overall) else None,
        text_source=", ".join(f"{source} ({n})" for source, n in sources.most_common()) or "none",
        clusters=report_clusters,
        failed=[FailedReplay(r.replay_id, r.url, r.error or "") for r in shot_replays if r.status != "ok"],
    )
    return report, images


def _replace_report_files(store: ObjectStore, day: str, markdown: str, html: str, images: dict[str, bytes]) -> str:
    prefix = report_prefix(day)
    with tempfile.TemporaryDirectory(prefix="replay-report-") as tmp:
        files = {"report.md": Path(tmp) / "report.md", "report.html": Path(tmp) / "report.html"}
        files["report.md"].write_text(markdown)
        files["report.html"].write_text(html)
        for name, png in images.items():
            (Path(tmp) / name).write_bytes(png)
            files[name] = Path(tmp) / name
        listing = json.dumps({"day": day, "files": sorted(files)}, indent=1).encode()
        store.replace_prefix(prefix, files, commit_name=MANIFEST_NAME, commit_data=listing)
    return prefix


def store_day_report(
    wh: Warehouse,
    store: ObjectStore,
    day: str,
    *,
    default_method: str,
    warn: Callable[[str], None] = lambda message: None,
) -> DayReport:
    """Builds the day's report and replaces its files in the object store. ``default_method``: the clustering
    method named when the day has no clusters."""
    day_date = parse_day(day)
    ensure_tables(wh, "replay_links", "session_clusters", "session_cluster_members", "cluster_summaries")
    ensure_load_log(wh)
    clusters = read_day(wh, "session_clusters", day_date)
    manifests = [load_screenshot_manifest(store, day)]
    examples = load_cluster_examples(store, day)
    if examples is None:
        warn(f"cluster_example_screenshots has not run for {day}: clusters may lack an example")
    else:
        manifests.append(examples)
    report, image_keys = build_report(
        day,
        manifests,
        clusters,
        read_day(wh, "session_cluster_members", day_date),
        read_day(wh, "cluster_summaries", day_date),
        read_day(wh, "replay_links", day_date),
        clusters["method"].iloc[0] if len(clusters) else default_method,
        "demo" in queries.upload_origins(wh, day_date - dt.timedelta(days=1), day_date),
    )
    images = {name: store.get_bytes(key) for name, key in image_keys.items()}
    markdown = render_markdown(report)
    html = render_html(report, images)
    prefix = _replace_report_files(store, day, markdown, html, images)
    return DayReport(report, markdown, html, images, prefix)
