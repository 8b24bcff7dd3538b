"""Session replay AI: replay links -> screenshots -> session clusters -> cluster summaries -> the daily report.

Partition D covers the replay sessions whose first events were uploaded on Moscow day D (see
``sql/replays/replay_session_events.sql``). ``replay_links`` hands the day's sessions to the next assets through the
object store, so ``replay_screenshots`` runs the browser without holding the warehouse pool.

A run may cover a range of days (``BackfillPolicy.single_run``): each asset works through the run's days one at a
time, each day with its own metadata. The stage is its own failure domain: nothing outside it depends on it.
"""

from collections import Counter

import dagster as dg
import pandas as pd

from analytics_dagster.defs.replays.daily import DayResults, each_day, replay_asset
from analytics_dagster.defs.replays.resources import (
    AmplitudeReplayResource,
    GoogleDriveResource,
    LLMResource,
    ReplayAnalysisResource,
    ReplayBrowserResource,
)
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.markdown import markdown_table
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.replays.browser import CaptureResult
from analytics_dagster.lib.replays.day_clusters import ClusterAnalysis, store_day_clusters
from analytics_dagster.lib.replays.day_links import store_day_links
from analytics_dagster.lib.replays.day_report import DayReport, store_day_report
from analytics_dagster.lib.replays.day_screenshots import (
    ReplayCapture,
    ScreenshotPass,
    screenshot_cluster_examples,
    screenshot_day,
)
from analytics_dagster.lib.replays.day_summaries import store_day_summaries

# Share of a day's replays whose screenshots may fail before the check warns.
MAX_SCREENSHOT_FAILURE_SHARE = 0.2
_PREVIEW_ROWS = 15


def _replay_capture(amplitude: AmplitudeReplayResource, browser: ReplayBrowserResource) -> ReplayCapture:
    return ReplayCapture(
        demo=amplitude.demo,
        links=amplitude.link_settings(),
        browser=browser.settings(amplitude.storage_state),
        player=amplitude.player_profile(),
    )


def _warn_failed(context: dg.AssetExecutionContext, results: list[CaptureResult]) -> None:
    for result in results:
        if result.status != "ok":
            context.log.warning(f"Replay {result.replay_id} failed: {result.error}")


@replay_asset(
    deps=[dg.AssetKey("events_part")],
    pool=WAREHOUSE_POOL,
    kinds={"python", "sql"},
    checks={
        "replay_ids_name_their_sessions": "Every replay id is '<device_id>/<session_id>' of the session it is "
        "stored with."
    },
    description="Sessions of the day carrying `[Amplitude] Session Replay ID`, with user, device, start/end, event "
    "count and the link to Amplitude's replay player (table replay_links).",
)
def replay_links(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
) -> DayResults:
    def materialize(day: str) -> dg.MaterializeResult:
        links = store_day_links(warehouse.get(), object_store.store(), parse_day(day), replay_amplitude.link_settings())
        frame = links.frame
        context.log.info(f"{len(links.sessions)} replay sessions ({links.events:,} events) for {day}")
        preview = frame[["replay_id", "user_key", "session_start", "event_count", "replay_url"]]
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(frame),
                "events": links.events,
                "sessions_with_errors": int((frame["error_count"] > 0).sum()) if len(frame) else 0,
                "preview": dg.MetadataValue.md(markdown_table(preview, max_rows=_PREVIEW_ROWS, max_width=80)),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="replay_ids_name_their_sessions",
                    passed=not links.mismatched,
                    metadata={"mismatched": len(links.mismatched), "examples": ", ".join(links.mismatched[:5])},
                )
            ],
        )

    yield from each_day(context, materialize)


def _fail_if_every_replay_failed(shots: ScreenshotPass, manifest_url: dg.MetadataValue) -> None:
    if shots.results and not shots.succeeded:
        raise dg.Failure(
            f"every one of the {len(shots.results)} replays failed to screenshot; first error: {shots.failed[0].error}",
            metadata={"manifest": manifest_url},
        )


@replay_asset(
    deps=[replay_links],
    kinds={"python", "playwright"},
    checks={
        "screenshot_failures_are_rare": f"At most {MAX_SCREENSHOT_FAILURE_SHARE:.0%} of the day's replays fail to "
        "screenshot."
    },
    description="Screenshots spread over each replay (Playwright + Chromium), capped per day; demo replay pages "
    "rendered from the events when no Amplitude login is configured. PNGs and a manifest in the object store.",
)
def replay_screenshots(
    context: dg.AssetExecutionContext,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
    replay_browser: ReplayBrowserResource,
) -> DayResults:
    def materialize(day: str) -> dg.MaterializeResult:
        if replay_amplitude.demo:
            context.log.warning(
                "No AMPLITUDE_REPLAY_STORAGE_STATE set: screenshotting DEMO replay pages rendered from the events."
            )
        store = object_store.store()
        available, shots = screenshot_day(
            store,
            day,
            _replay_capture(replay_amplitude, replay_browser),
            budget=replay_browser.max_replays_per_day,
            reserve=replay_browser.cluster_example_reserve,
            log=context.log.info,
        )
        _warn_failed(context, shots.results)
        manifest_url = dg.MetadataValue.url(store.public_url(shots.manifest_key))
        _fail_if_every_replay_failed(shots, manifest_url)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": shots.succeeded,
                "demo_replays": shots.manifest.demo,
                "replays_available": available,
                "replays_selected": shots.manifest.selected,
                "failed": len(shots.failed),
                "screenshots": shots.screenshots,
                "seconds_per_replay": shots.seconds_per_replay,
                "manifest": manifest_url,
                "preview": dg.MetadataValue.md(markdown_table(shots.preview(), max_rows=_PREVIEW_ROWS, max_width=80)),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="screenshot_failures_are_rare",
                    passed=shots.failure_share <= MAX_SCREENSHOT_FAILURE_SHARE,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"failure_share": round(shots.failure_share, 3), "failed": len(shots.failed)},
                )
            ],
        )

    yield from each_day(context, materialize)


@replay_asset(
    deps=[replay_links, replay_screenshots],
    pool=WAREHOUSE_POOL,
    kinds={"python", "scikitlearn"},
    description="The day's replay sessions clustered on their event sequence and what their screenshots say "
    "(TF-IDF with Russian/English stopwords and stemming; KMeans with k by silhouette, or HDBSCAN). Tables "
    "session_clusters (per cluster) and session_cluster_members (per session).",
)
def session_clusters(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_analysis: ReplayAnalysisResource,
    replay_llm: LLMResource,
) -> DayResults:
    analysis = ClusterAnalysis(
        text_source=replay_analysis.text_source,
        clustering=replay_analysis.clustering,
        max_clusters=replay_analysis.max_clusters,
        tesseract=replay_analysis.tesseract,
        vision_model=replay_llm.vision_model if replay_llm.configured else None,
    )

    def materialize(day: str) -> dg.MaterializeResult:
        store = object_store.store()
        clustered = store_day_clusters(
            warehouse.get(),
            store,
            day,
            analysis,
            lambda: replay_llm.client(store, day),
            log=context.log.info,
            warn=context.log.warning,
        )
        result = clustered.result
        preview = clustered.clusters[["cluster_id", "size", "silhouette", "top_terms"]].copy()
        preview["silhouette"] = preview["silhouette"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
        silhouette = dg.MetadataValue.text("undefined") if result.silhouette is None else round(result.silhouette, 4)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(clustered.clusters),
                "sessions": clustered.sessions,
                "method": result.method,
                "silhouette": silhouette,
                "k_silhouettes": dg.MetadataValue.json({str(k): round(v, 4) for k, v in result.k_scores.items()}),
                "text_sources": dg.MetadataValue.json(dict(Counter(clustered.members["text_source"]))),
                "preview": dg.MetadataValue.md(markdown_table(preview, max_rows=_PREVIEW_ROWS, max_width=80)),
            }
        )

    yield from each_day(context, materialize)


@replay_asset(
    deps=[session_clusters],
    kinds={"python", "playwright"},
    description="An example screenshot for each cluster none of whose sessions was screenshotted (its best "
    "representative, largest clusters first), from the part of the daily screenshot budget the first pass kept "
    "back. PNGs and a manifest under replays/<day>/cluster_examples/.",
)
def cluster_example_screenshots(
    context: dg.AssetExecutionContext,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
    replay_browser: ReplayBrowserResource,
) -> DayResults:
    def materialize(day: str) -> dg.MaterializeResult:
        examples = screenshot_cluster_examples(
            object_store.store(),
            day,
            _replay_capture(replay_amplitude, replay_browser),
            budget=replay_browser.max_replays_per_day,
            log=context.log.info,
        )
        _warn_failed(context, examples.shots.results)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": examples.shots.succeeded,
                "clusters": examples.clusters,
                "clusters_without_example_before": examples.without_example_before,
                "clusters_without_example_after": examples.without_example_after,
                "budget_left_before": examples.budget_left_before,
                "screenshots": examples.shots.screenshots,
            }
        )

    yield from each_day(context, materialize)


@replay_asset(
    deps=[session_clusters],
    pool=WAREHOUSE_POOL,
    kinds={"python", "openai"},
    checks={"every_cluster_has_a_summary": "One non-empty summary per cluster of the day."},
    description="One summary per cluster through an OpenAI-compatible chat server (cached by prompt hash, within "
    "a daily token cap), or an offline summary from top terms and representative sessions, labelled as such.",
)
def cluster_summaries(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_llm: LLMResource,
) -> DayResults:
    def materialize(day: str) -> dg.MaterializeResult:
        llm = replay_llm.client(object_store.store(), day)
        if llm is None:
            context.log.warning("No OPENAI_API_KEY or OPENAI_BASE_URL set: writing offline summaries.")
        day_summaries = store_day_summaries(
            warehouse.get(), day, llm, language=replay_llm.summary_language, warn=context.log.warning
        )
        summaries, frame = day_summaries.summaries, day_summaries.frame
        sources = Counter(s.source for s in summaries)
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(frame),
                "llm_summaries": sources.get("llm", 0),
                "offline_summaries": sources.get("offline", 0),
                "llm_calls": llm.calls if llm else 0,
                "cache_hits": sum(1 for s in summaries if s.cached),
                "tokens_used_today": llm.budget.used if llm else 0,
                "model": replay_llm.model if llm else "offline",
                "preview": dg.MetadataValue.md(
                    markdown_table(frame[["cluster_id", "source", "title"]], max_rows=_PREVIEW_ROWS, max_width=80)
                ),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="every_cluster_has_a_summary",
                    passed=not day_summaries.missing,
                    metadata={"missing": str(day_summaries.missing)},
                )
            ],
        )

    yield from each_day(context, materialize)


@replay_asset(
    deps=[cluster_summaries, replay_screenshots, cluster_example_screenshots],
    pool=WAREHOUSE_POOL,
    kinds={"python", "html", "googledrive"},
    description="The day's replay report (Markdown and self-contained HTML: clusters, sizes, summaries, example "
    "screenshots, links to the replays) in the object store, also published to Google Drive when configured.",
)
def replay_report(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_analysis: ReplayAnalysisResource,
    replay_gdrive: GoogleDriveResource,
) -> DayResults:
    def materialize(day: str) -> dg.MaterializeResult:
        store = object_store.store()
        report = store_day_report(
            warehouse.get(), store, day, default_method=replay_analysis.clustering, warn=context.log.warning
        )
        metadata: dict[str, object] = {
            "dagster/row_count": len(report.report.clusters),
            "demo_data": report.report.is_demo,
            "report": dg.MetadataValue.url(store.public_url(report.prefix + "report.html")),
            "report_markdown": dg.MetadataValue.url(store.public_url(report.prefix + "report.md")),
            "screenshots_in_report": len(report.images),
            "preview": dg.MetadataValue.md(report.markdown),
        }
        if replay_gdrive.configured:
            folder_url = _publish_to_drive(context, replay_gdrive, day, report)
            metadata["google_drive_folder"] = dg.MetadataValue.url(folder_url)
        context.log.info(f"Replay report for {day}: {store.uri(report.prefix + 'report.html')}")
        return dg.MaterializeResult(metadata=metadata)

    yield from each_day(context, materialize)


def _publish_to_drive(
    context: dg.AssetExecutionContext, replay_gdrive: GoogleDriveResource, day: str, report: DayReport
) -> str:
    """Publishes the report's files to the day's Google Drive folder and returns the folder's URL."""
    drive = replay_gdrive.client()
    try:
        published = drive.publish(replay_gdrive.folder_id, day, report.files())
    finally:
        drive.close()
    context.log.info(
        f"Published to Google Drive: {len(published.created)} created, {len(published.updated)} replaced, "
        f"{len(published.deleted)} removed"
    )
    return published.folder_url
