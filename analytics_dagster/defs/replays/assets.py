"""Session replay AI: replay links -> screenshots -> session clusters -> cluster summaries -> the daily report.

Partition D covers the replay sessions whose first events were uploaded on Moscow day D (see
``sql/replays/replay_session_events.sql``). ``replay_links`` hands the day's sessions to the next assets through the
object store, so ``replay_screenshots`` runs the browser without holding the warehouse pool.

A run may cover a range of days (``BackfillPolicy.single_run``): each asset works through the run's days one at a
time, each day with its own metadata. The stage is its own failure domain: nothing outside it depends on it.
"""

import datetime as dt
import json
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd

from analytics_dagster.defs.automation import FOLLOWS_UPSTREAM
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.reporting import combined_checks, record_days
from analytics_dagster.defs.replays.resources import (
    AmplitudeReplayResource,
    GoogleDriveResource,
    LLMResource,
    ReplayAnalysisResource,
    ReplayBrowserResource,
)
from analytics_dagster.defs.resources import WAREHOUSE_POOL, ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.dwh.etl import ensure_load_log
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.browser import BrowserSettings, CaptureResult, ReplayJob, capture_replays_sync
from analytics_dagster.lib.replays.clustering import cluster_documents
from analytics_dagster.lib.replays.demo_player import render_demo_player, serve_demo_pages
from analytics_dagster.lib.replays.examples import first_pass_size, replays_needing_examples
from analytics_dagster.lib.replays.links import links_frame, parse_replay_id, replay_key, replay_url
from analytics_dagster.lib.replays.report import (
    FailedReplay,
    ReplayReport,
    ReportCluster,
    ReportSession,
    render_html,
    render_markdown,
)
from analytics_dagster.lib.replays.screen_text import ScreenText, resolve_text_source, screen_texts
from analytics_dagster.lib.replays.sessions import ReplaySession, sample_sessions, sessions_from_events
from analytics_dagster.lib.replays.storage import (
    MANIFEST_NAME,
    ClusterMembers,
    ReplayShots,
    ScreenshotManifest,
    ShotRecord,
    cluster_examples_prefix,
    load_cluster_examples,
    load_cluster_members,
    load_screenshot_manifest,
    load_sessions,
    report_prefix,
    save_cluster_members,
    save_sessions,
    screenshots_prefix,
)
from analytics_dagster.lib.replays.summaries import ClusterDigest, RepresentativeSession, summarize_clusters
from analytics_dagster.lib.replays.text import event_text, session_document

GROUP = "replays"
# Share of a day's replays whose screenshots may fail before the check warns.
MAX_SCREENSHOT_FAILURE_SHARE = 0.2
_PREVIEW_ROWS = 15


def _markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_no rows_"
    cells = frame.astype(str).map(lambda v: " ".join(v.split()).replace("|", "\\|")[:80])
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns)
    return header + "\n" + "\n".join("| " + " | ".join(row) + " |" for row in cells.itertuples(index=False))


@dataclass(frozen=True)
class _CheckOutcome:
    """One day's result of a check, in the shape defs/reporting.combined_checks takes."""

    passed: bool
    metadata: dict
    warn_only: bool


def _combined_checks(
    asset_key: dg.AssetKey, results: dict[str, dg.MaterializeResult]
) -> list[dg.AssetCheckResult]:
    return combined_checks(
        {
            day: {
                (asset_key, check.check_name): _CheckOutcome(
                    check.passed,
                    # Plain values: combined_checks puts them into JSON metadata.
                    {name: value.value for name, value in check.metadata.items()},
                    check.severity == dg.AssetCheckSeverity.WARN,
                )
                for check in result.check_results or ()
            }
            for day, result in results.items()
        }
    )


def _each_day(
    context: dg.AssetExecutionContext, materialize_day: Callable[[str], dg.MaterializeResult]
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    """Runs ``materialize_day`` for each day of the run, oldest first. A one-day run yields that day's result
    unchanged. Over a range, every day is attempted and gets its own metadata; when some fail, the days that
    succeeded are recorded as materialized before the run fails, so a retry only needs the failed days (a
    generator: events are recorded only when the body yields, never when it raises)."""
    days = list(context.partition_keys)
    if len(days) == 1:
        yield materialize_day(days[0])
        return
    results: dict[str, dg.MaterializeResult] = {}
    failures: dict[str, Exception] = {}
    for day in days:
        try:
            results[day] = materialize_day(day)
        except Exception as error:  # every day is attempted; the failures are reported together below
            failures[day] = error
            context.log.error(f"{context.asset_key.to_user_string()} {day} failed: {error}")
    metadata = {day: dict(result.metadata or {}) for day, result in results.items()}
    if failures:
        yield from record_days(context, metadata, run_fails=True)
        summary = "; ".join(f"{day}: {error}" for day, error in failures.items())
        raise dg.Failure(
            description=f"{len(failures)} of {len(days)} days failed ({summary})",
            metadata={"failed_days": sorted(failures), "materialized_days": sorted(results)},
        ) from next(iter(failures.values()))
    yield from record_days(context, metadata)
    yield dg.MaterializeResult(check_results=_combined_checks(context.asset_key, results))


def _ensure_tables(warehouse, *tables: str) -> None:
    for table in tables:
        warehouse.execute_file(f"replays/ddl/{table}.sql")


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
    deps=[dg.AssetKey("events_part")],
    pool=WAREHOUSE_POOL,
    kinds={"python", "sql"},
    check_specs=[
        dg.AssetCheckSpec(
            "replay_ids_name_their_sessions",
            asset="replay_links",
            description="Every replay id is '<device_id>/<session_id>' of the session it is stored with.",
        )
    ],
    description="Sessions of the day carrying `[Amplitude] Session Replay ID`, with user, device, start/end, event "
    "count and the link to Amplitude's replay player (table replay_links).",
)
def replay_links(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(context, lambda day: _links_of_day(context, day, warehouse, object_store, replay_amplitude))


def _links_of_day(
    context: dg.AssetExecutionContext,
    partition_key: str,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
) -> dg.MaterializeResult:
    day = parse_day(partition_key)
    wh = warehouse.get()
    _ensure_tables(wh, "replay_links")
    events = wh.query_file(
        "replays/replay_session_events.sql", {"day": day, "previous_day": day - dt.timedelta(days=1)}
    )
    sessions = sessions_from_events(events)
    frame = links_frame(day, sessions, replay_amplitude.link_settings())
    wh.replace_partition("replay_links", frame, partition_column="partition_date", partition_value=day)
    save_sessions(object_store.store(), day.isoformat(), sessions)
    context.log.info(f"{len(sessions)} replay sessions ({len(events):,} events) for {day}")

    mismatched = [s.replay_id for s in sessions if parse_replay_id(s.replay_id) != (s.device_id, s.session_id)]
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(frame),
            "events": len(events),
            "sessions_with_errors": int((frame["error_count"] > 0).sum()) if len(frame) else 0,
            "preview": dg.MetadataValue.md(
                _markdown_table(
                    frame[["replay_id", "user_key", "session_start", "event_count", "replay_url"]].head(_PREVIEW_ROWS)
                )
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="replay_ids_name_their_sessions",
                passed=not mismatched,
                metadata={"mismatched": len(mismatched), "examples": ", ".join(mismatched[:5])},
            )
        ],
    )


def _capture(
    sessions: list[ReplaySession], amplitude: AmplitudeReplayResource, settings: BrowserSettings, out_dir: Path
) -> list[CaptureResult]:
    """Amplitude's player for each session, or (demo) the session's own replay page served from 127.0.0.1."""
    profile = amplitude.player_profile()
    if not amplitude.demo:
        link_settings = amplitude.link_settings()
        jobs = [
            ReplayJob(s.replay_id, replay_url(s.replay_id, link_settings), replay_key(s.replay_id)) for s in sessions
        ]
        return capture_replays_sync(jobs, out_dir, settings, profile)
    pages = {replay_key(s.replay_id): render_demo_player(s) for s in sessions}
    with serve_demo_pages(pages) as base_url:
        jobs = [ReplayJob(s.replay_id, base_url + replay_key(s.replay_id), replay_key(s.replay_id)) for s in sessions]
        return capture_replays_sync(jobs, out_dir, settings, profile)


def _screenshot_to_store(
    store: ObjectStore,
    prefix: str,
    day: str,
    selected: list[ReplaySession],
    available: int,
    amplitude: AmplitudeReplayResource,
    browser: ReplayBrowserResource,
) -> tuple[list[CaptureResult], ScreenshotManifest, dict[str, Path]]:
    """Screenshots ``selected`` and replaces ``prefix`` in the object store with the PNGs and their manifest."""
    link_settings = amplitude.link_settings()
    with tempfile.TemporaryDirectory(prefix="replay-shots-") as tmp:
        results = _capture(selected, amplitude, browser.settings(amplitude.storage_state), Path(tmp))
        files = {f"{r.key}/{shot.path.name}": shot.path for r in results for shot in r.screenshots}
        manifest = ScreenshotManifest(
            day=day,
            demo=amplitude.demo,
            selected=len(selected),
            available=available,
            replays=[
                ReplayShots(
                    replay_id=r.replay_id,
                    url=replay_url(r.replay_id, link_settings),
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
    return results, manifest, files


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
    deps=[replay_links],
    kinds={"python", "playwright"},
    check_specs=[
        dg.AssetCheckSpec(
            "screenshot_failures_are_rare",
            asset="replay_screenshots",
            description=f"At most {MAX_SCREENSHOT_FAILURE_SHARE:.0%} of the day's replays fail to screenshot.",
        )
    ],
    description="Screenshots spread over each replay (Playwright + Chromium), capped per day; demo replay pages "
    "rendered from the events when no Amplitude login is configured. PNGs and a manifest in the object store.",
)
def replay_screenshots(
    context: dg.AssetExecutionContext,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
    replay_browser: ReplayBrowserResource,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(
        context, lambda day: _screenshots_of_day(context, day, object_store, replay_amplitude, replay_browser)
    )


def _screenshots_of_day(
    context: dg.AssetExecutionContext,
    day: str,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
    replay_browser: ReplayBrowserResource,
) -> dg.MaterializeResult:
    store = object_store.store()
    sessions = load_sessions(store, day)
    budget = replay_browser.max_replays_per_day
    selected = sample_sessions(
        sessions, first_pass_size(len(sessions), budget, replay_browser.cluster_example_reserve)
    )
    if replay_amplitude.demo:
        context.log.warning(
            "No AMPLITUDE_REPLAY_STORAGE_STATE set: screenshotting DEMO replay pages rendered from the events."
        )
    context.log.info(
        f"Screenshotting {len(selected)} of {len(sessions)} replays (daily budget {budget}, the rest kept for "
        f"clusters left without an example), {replay_browser.concurrency} at a time"
    )
    prefix = screenshots_prefix(day)
    results, manifest, files = _screenshot_to_store(
        store, prefix, day, selected, len(sessions), replay_amplitude, replay_browser
    )
    demo = manifest.demo

    failed = [r for r in results if r.status != "ok"]
    for result in failed:
        context.log.warning(f"Replay {result.replay_id} failed: {result.error}")
    if results and len(failed) == len(results):
        raise dg.Failure(
            f"every one of the {len(results)} replays failed to screenshot; first error: {failed[0].error}",
            metadata={"manifest": dg.MetadataValue.url(store.public_url(prefix + MANIFEST_NAME))},
        )
    ok_seconds = [r.seconds for r in results if r.status == "ok"]
    failure_share = len(failed) / len(results) if results else 0.0
    preview = pd.DataFrame(
        [
            {"replay": r.replay_id, "status": r.status, "seconds": f"{r.seconds:.1f}", "error": r.error or ""}
            for r in results
        ]
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(results) - len(failed),
            "demo_replays": demo,
            "replays_available": len(sessions),
            "replays_selected": len(selected),
            "failed": len(failed),
            "screenshots": len(files),
            "seconds_per_replay": round(sum(ok_seconds) / len(ok_seconds), 2) if ok_seconds else 0.0,
            "manifest": dg.MetadataValue.url(store.public_url(prefix + MANIFEST_NAME)),
            "preview": dg.MetadataValue.md(_markdown_table(preview.head(_PREVIEW_ROWS))),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="screenshot_failures_are_rare",
                passed=failure_share <= MAX_SCREENSHOT_FAILURE_SHARE,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"failure_share": round(failure_share, 3), "failed": len(failed)},
            )
        ],
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
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
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(
        context, lambda day: _clusters_of_day(context, day, warehouse, object_store, replay_analysis, replay_llm)
    )


def _clusters_of_day(
    context: dg.AssetExecutionContext,
    day: str,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_analysis: ReplayAnalysisResource,
    replay_llm: LLMResource,
) -> dg.MaterializeResult:
    store = object_store.store()
    sessions = load_sessions(store, day)
    manifest = load_screenshot_manifest(store, day)
    vision_model = replay_llm.vision_model if replay_llm.configured else None
    source = resolve_text_source(
        replay_analysis.text_source, vision_model=vision_model, tesseract=replay_analysis.tesseract, demo=manifest.demo
    )
    context.log.info(
        f"Screen text from: {source}; clustering {len(sessions)} sessions with {replay_analysis.clustering}"
    )
    by_id = {s.replay_id: s for s in sessions}
    texts = screen_texts(
        manifest.replays,
        source,
        store=store,
        llm=replay_llm.client(store, day) if source == "vision" else None,
        vision_model=vision_model,
        tesseract=replay_analysis.tesseract,
        describe=lambda shots: (
            f"{by_id[shots.replay_id].event_count} events on {', '.join(by_id[shots.replay_id].pages[:8])}"
        ),
        warn=context.log.warning,
    )
    no_text = ScreenText("", "none")
    documents = [session_document(s, texts.get(s.replay_id, no_text).text) for s in sessions]
    result = cluster_documents(documents, method=replay_analysis.clustering, max_clusters=replay_analysis.max_clusters)

    save_cluster_members(
        store,
        day,
        [
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
        ],
    )
    day_date = parse_day(day)
    total = max(len(sessions), 1)
    clusters = pd.DataFrame(
        [
            {
                "partition_date": day_date,
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
        columns=[
            "partition_date",
            "cluster_id",
            "size",
            "share",
            "top_terms",
            "representative_replay_ids",
            "silhouette",
            "method",
        ],
    )
    ranks = {i: rank for c in result.clusters for rank, i in enumerate(c.representatives, start=1)}
    members = pd.DataFrame(
        [
            {
                "partition_date": day_date,
                "replay_id": s.replay_id,
                "cluster_id": result.labels[i],
                "silhouette": result.sample_silhouettes[i],
                "representative_rank": ranks.get(i),
                "text_source": texts.get(s.replay_id, no_text).source,
                "event_outline": event_text(s),
                "screen_text": texts.get(s.replay_id, no_text).text,
            }
            for i, s in enumerate(sessions)
        ],
        columns=[
            "partition_date",
            "replay_id",
            "cluster_id",
            "silhouette",
            "representative_rank",
            "text_source",
            "event_outline",
            "screen_text",
        ],
    )
    members["representative_rank"] = members["representative_rank"].astype("Int64")
    wh = warehouse.get()
    _ensure_tables(wh, "session_clusters", "session_cluster_members")
    wh.replace_partition("session_clusters", clusters, partition_column="partition_date", partition_value=day_date)
    wh.replace_partition(
        "session_cluster_members", members, partition_column="partition_date", partition_value=day_date
    )

    preview = clusters[["cluster_id", "size", "silhouette", "top_terms"]].copy()
    preview["silhouette"] = preview["silhouette"].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(clusters),
            "sessions": len(sessions),
            "method": result.method,
            "silhouette": dg.MetadataValue.text("undefined")
            if result.silhouette is None
            else round(result.silhouette, 4),
            "k_silhouettes": dg.MetadataValue.json({str(k): round(v, 4) for k, v in result.k_scores.items()}),
            "text_sources": dg.MetadataValue.json(dict(Counter(members["text_source"]))),
            "preview": dg.MetadataValue.md(_markdown_table(preview.head(_PREVIEW_ROWS))),
        }
    )


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
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
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(
        context, lambda day: _cluster_examples_of_day(context, day, object_store, replay_amplitude, replay_browser)
    )


def _cluster_examples_of_day(
    context: dg.AssetExecutionContext,
    day: str,
    object_store: ObjectStoreResource,
    replay_amplitude: AmplitudeReplayResource,
    replay_browser: ReplayBrowserResource,
) -> dg.MaterializeResult:
    store = object_store.store()
    first_pass = load_screenshot_manifest(store, day)
    clusters = load_cluster_members(store, day)
    screenshotted = {r.replay_id for r in first_pass.replays if r.status == "ok" and r.screenshots}
    remaining = replay_browser.max_replays_per_day - len(first_pass.replays)
    wanted = set(replays_needing_examples(clusters, screenshotted, remaining))
    without = [c for c in clusters if not any(r in screenshotted for r in c.replay_ids)]
    context.log.info(
        f"{len(without)} of {len(clusters)} clusters have no screenshot; taking {len(wanted)} "
        f"({remaining} left of the daily budget)"
    )
    selected = [s for s in load_sessions(store, day) if s.replay_id in wanted]
    results, manifest, files = _screenshot_to_store(
        store, cluster_examples_prefix(day), day, selected, len(without), replay_amplitude, replay_browser
    )
    for result in results:
        if result.status != "ok":
            context.log.warning(f"Replay {result.replay_id} failed: {result.error}")
    shot = screenshotted | {r.replay_id for r in manifest.replays if r.status == "ok" and r.screenshots}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(1 for r in results if r.status == "ok"),
            "clusters": len(clusters),
            "clusters_without_example_before": len(without),
            "clusters_without_example_after": sum(1 for c in clusters if not any(r in shot for r in c.replay_ids)),
            "budget_left_before": max(remaining, 0),
            "screenshots": len(files),
        }
    )


def _digests(clusters: pd.DataFrame, members: pd.DataFrame, links: pd.DataFrame) -> list[ClusterDigest]:
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


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
    deps=[session_clusters],
    pool=WAREHOUSE_POOL,
    kinds={"python", "openai"},
    check_specs=[
        dg.AssetCheckSpec(
            "every_cluster_has_a_summary",
            asset="cluster_summaries",
            description="One non-empty summary per cluster of the day.",
        )
    ],
    description="One summary per cluster through an OpenAI-compatible chat server (cached by prompt hash, within "
    "a daily token cap), or an offline summary from top terms and representative sessions, labelled as such.",
)
def cluster_summaries(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_llm: LLMResource,
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(context, lambda day: _summaries_of_day(context, day, warehouse, object_store, replay_llm))


def _summaries_of_day(
    context: dg.AssetExecutionContext,
    day: str,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_llm: LLMResource,
) -> dg.MaterializeResult:
    day_date = parse_day(day)
    wh = warehouse.get()
    _ensure_tables(wh, "replay_links", "session_clusters", "session_cluster_members", "cluster_summaries")
    params = {"day": day_date}
    clusters = wh.query_file("replays/day_session_clusters.sql", params)
    digests = _digests(
        clusters,
        wh.query_file("replays/day_cluster_members.sql", params),
        wh.query_file("replays/day_replay_links.sql", params),
    )
    store = object_store.store()
    llm = replay_llm.client(store, day)
    if llm is None:
        context.log.warning("No OPENAI_API_KEY or OPENAI_BASE_URL set: writing offline summaries.")
    summaries = summarize_clusters(
        digests,
        llm,
        day=day,
        total_sessions=int(clusters["size"].sum()) if len(clusters) else 0,
        language=replay_llm.summary_language,
        warn=context.log.warning,
    )
    frame = pd.DataFrame(
        [{"partition_date": day_date, **vars(s)} for s in summaries],
        columns=[
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
        ],
    )
    wh.replace_partition("cluster_summaries", frame, partition_column="partition_date", partition_value=day_date)

    missing = sorted(set(clusters["cluster_id"].astype(int)) - {s.cluster_id for s in summaries if s.summary.strip()})
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
                _markdown_table(frame[["cluster_id", "source", "title"]].head(_PREVIEW_ROWS))
            ),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="every_cluster_has_a_summary", passed=not missing, metadata={"missing": str(missing)}
            )
        ],
    )


def _report_model(
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


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=RANGE_BACKFILL_POLICY,
    automation_condition=FOLLOWS_UPSTREAM,
    group_name=GROUP,
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
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization]:
    yield from _each_day(
        context, lambda day: _report_of_day(context, day, warehouse, object_store, replay_analysis, replay_gdrive)
    )


def _report_of_day(
    context: dg.AssetExecutionContext,
    day: str,
    warehouse: WarehouseResource,
    object_store: ObjectStoreResource,
    replay_analysis: ReplayAnalysisResource,
    replay_gdrive: GoogleDriveResource,
) -> dg.MaterializeResult:
    params = {"day": parse_day(day)}
    wh = warehouse.get()
    _ensure_tables(wh, "replay_links", "session_clusters", "session_cluster_members", "cluster_summaries")
    ensure_load_log(wh)
    clusters = wh.query_file("replays/day_session_clusters.sql", params)
    store = object_store.store()
    manifests = [load_screenshot_manifest(store, day)]
    examples = load_cluster_examples(store, day)
    if examples is None:
        context.log.warning(f"cluster_example_screenshots has not run for {day}: clusters may lack an example")
    else:
        manifests.append(examples)
    report, image_keys = _report_model(
        day,
        manifests,
        clusters,
        wh.query_file("replays/day_cluster_members.sql", params),
        wh.query_file("replays/day_cluster_summaries.sql", params),
        wh.query_file("replays/day_replay_links.sql", params),
        clusters["method"].iloc[0] if len(clusters) else replay_analysis.clustering,
        "demo" in queries.upload_origins(wh, params["day"] - dt.timedelta(days=1), params["day"]),
    )
    images = {name: store.get_bytes(key) for name, key in image_keys.items()}
    markdown = render_markdown(report)
    html = render_html(report, images)
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

    metadata: dict[str, object] = {
        "dagster/row_count": len(report.clusters),
        "demo_data": report.is_demo,
        "report": dg.MetadataValue.url(store.public_url(prefix + "report.html")),
        "report_markdown": dg.MetadataValue.url(store.public_url(prefix + "report.md")),
        "screenshots_in_report": len(images),
        "preview": dg.MetadataValue.md(markdown),
    }
    if replay_gdrive.configured:
        drive = replay_gdrive.client()
        try:
            published = drive.publish(
                replay_gdrive.folder_id,
                day,
                {
                    "report.md": (markdown.encode(), "text/markdown"),
                    "report.html": (html.encode(), "text/html"),
                    **{name: (png, "image/png") for name, png in images.items()},
                },
            )
        finally:
            drive.close()
        context.log.info(
            f"Published to Google Drive: {len(published.created)} created, {len(published.updated)} replaced, "
            f"{len(published.deleted)} removed"
        )
        metadata["google_drive_folder"] = dg.MetadataValue.url(published.folder_url)
    context.log.info(f"Replay report for {day}: {store.uri(prefix + 'report.html')}")
    return dg.MaterializeResult(metadata=metadata)
