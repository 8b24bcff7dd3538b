"""The replay stage end to end: a constructed warehouse day through links, real Chromium screenshots of demo pages,
clustering, summaries (offline, then from a local OpenAI-compatible server) and the report, also published to a
local Google Drive server."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote

import dagster as dg
import httpx
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from sklearn.metrics import adjusted_rand_score

from analytics_dagster.defs.replays.assets import (
    cluster_example_screenshots,
    cluster_summaries,
    replay_links,
    replay_report,
    replay_screenshots,
    session_clusters,
)
from analytics_dagster.defs.replays.resources import (
    AmplitudeReplayResource,
    GoogleDriveResource,
    LLMResource,
    ReplayAnalysisResource,
    ReplayBrowserResource,
)
from analytics_dagster.lib.dwh.etl import ensure_load_log
from analytics_dagster.lib.replays.browser import default_chromium_path
from analytics_dagster.lib.replays.storage import load_screenshot_manifest, report_prefix, save_sessions

from .conftest import DAY, PARTITION, load_constructed_day

ALL_ASSETS = [
    replay_links,
    replay_screenshots,
    session_clusters,
    cluster_example_screenshots,
    cluster_summaries,
    replay_report,
]


def _resources(object_store_resource, duckdb_resource, *, llm=None, gdrive=None, max_per_day=50):
    return {
        "object_store": object_store_resource,
        "warehouse": duckdb_resource,
        "replay_amplitude": AmplitudeReplayResource(org_url="acme", project_id="424242"),
        "replay_browser": ReplayBrowserResource(
            chromium_path=default_chromium_path(),
            concurrency=3,
            timeout_seconds=60,
            screenshots_per_replay=3,
            max_replays_per_day=max_per_day,
        ),
        "replay_analysis": ReplayAnalysisResource(
            text_source="auto", clustering="kmeans", max_clusters=6, tesseract=None
        ),
        "replay_llm": llm or LLMResource(),
        "replay_gdrive": gdrive or GoogleDriveResource(),
    }


def _materialize(assets, resources) -> dg.ExecuteInProcessResult:
    result = dg.materialize(assets, partition_key=PARTITION, resources=resources)
    assert result.success
    return result


def _metadata(result: dg.ExecuteInProcessResult, key: str) -> dict:
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    return event.materialization.metadata


def test_whole_stage_offline_then_with_an_llm_server(
    object_store_resource, duckdb_resource, fake_openai, fake_drive, service_account_file
):
    warehouse = duckdb_resource.get()
    day = load_constructed_day(warehouse, sessions_per_group=3)
    store = object_store_resource.store()

    # 1) No LLM configured, one replay over the budget of 11: the first pass takes 9 (a quarter of the budget, 2,
    # is kept for clusters left without a screenshot), offline summaries, a report.
    offline = _materialize(ALL_ASSETS, _resources(object_store_resource, duckdb_resource, max_per_day=11))

    links = warehouse.query_df("SELECT * FROM replay_links WHERE partition_date = $day", {"day": DAY})
    assert set(links["replay_id"]) == set(day.expected)
    assert not set(links["replay_id"]) & set(day.excluded)
    for row in links.itertuples():
        assert row.replay_url == (
            "https://app.amplitude.com/analytics/acme/session-replay/project/424242/search/replay"
            f"?sessionReplayId={quote(row.replay_id, safe='')}"
        )
        assert row.event_count == day.event_counts[row.replay_id]
        assert row.session_start <= row.session_end
    assert [c.passed for c in offline.get_asset_check_evaluations()] == [True, True, True]

    manifest = load_screenshot_manifest(store, PARTITION)
    assert manifest.demo and manifest.selected == 9 and manifest.available == len(day.expected) == 12
    assert all(r.status == "ok" and len(r.screenshots) == 3 for r in manifest.replays)
    first = manifest.replays[0].screenshots[0]
    assert store.get_bytes(first.key).startswith(b"\x89PNG\r\n\x1a\n")
    assert _metadata(offline, "replay_screenshots")["demo_replays"].value is True

    members = warehouse.query_df("SELECT * FROM session_cluster_members WHERE partition_date = $day", {"day": DAY})
    assert len(members) == len(day.expected)
    assert set(members["text_source"]) == {"page_text", "none"}  # the three left out have no screenshots
    by_id = members.set_index("replay_id")["cluster_id"]
    truth = [day.expected[r] for r in by_id.index]
    assert adjusted_rand_score(truth, by_id.tolist()) >= 0.8

    summaries = warehouse.query_df("SELECT * FROM cluster_summaries WHERE partition_date = $day", {"day": DAY})
    clusters = warehouse.query_df("SELECT * FROM session_clusters WHERE partition_date = $day", {"day": DAY})
    assert sorted(summaries["cluster_id"]) == sorted(clusters["cluster_id"])
    assert set(summaries["source"]) == {"offline"}
    assert all(s.startswith("Offline summary (no LLM configured)") for s in summaries["summary"])

    markdown = store.get_bytes(report_prefix(PARTITION) + "report.md").decode()
    html = store.get_bytes(report_prefix(PARTITION) + "report.html").decode()
    # Demo replay pages, but the events did not come from the demo source (no demo upload day is loaded).
    assert "offline summary" in markdown and "Demo replays" in markdown and "Demo data" not in markdown
    for replay_id in json.loads(clusters["representative_replay_ids"].iloc[0]):
        assert quote(replay_id, safe="") in markdown
    # Every cluster shows an example screenshot, within the budget of 11 replays for the day.
    examples = _metadata(offline, "cluster_example_screenshots")
    assert examples["clusters_without_example_after"].value == 0
    assert manifest.selected + examples["dagster/row_count"].value <= 11
    sections = html.split('<section class="cluster"')[1:]
    assert len(sections) == len(clusters) and all("data:image/png;base64," in section for section in sections)
    report_meta = _metadata(offline, "replay_report")
    assert report_meta["report"].value == store.public_url(report_prefix(PARTITION) + "report.html")
    assert "google_drive_folder" not in report_meta

    # 2) The same day with an OpenAI-compatible server and Drive publishing: summaries come from the server.
    llm = LLMResource(base_url=fake_openai.base_url, api_key="test-key", model="test-model", max_retries=2)
    gdrive = GoogleDriveResource(
        folder_id=fake_drive.root_folder, credentials_path=str(service_account_file), api_url=fake_drive.api_url
    )
    resources = _resources(object_store_resource, duckdb_resource, llm=llm, gdrive=gdrive, max_per_day=11)
    downstream = [cluster_summaries, replay_report]
    with_llm = _materialize(downstream, resources)
    summaries = warehouse.query_df("SELECT * FROM cluster_summaries WHERE partition_date = $day", {"day": DAY})
    assert set(summaries["source"]) == {"llm"} and set(summaries["model"]) == {"test-model"}
    assert all(s.startswith("Server summary: users hit") for s in summaries["summary"])
    assert len(fake_openai.chat_requests()) == len(clusters)
    assert all(r["_auth"] == "Bearer test-key" for r in fake_openai.requests)
    assert _metadata(with_llm, "cluster_summaries")["llm_calls"].value == len(clusters)
    markdown = store.get_bytes(report_prefix(PARTITION) + "report.md").decode()
    assert "LLM summary (test-model)" in markdown and "offline summary" not in markdown

    day_folders = [f for f in fake_drive.children(fake_drive.root_folder)]
    assert [f["name"] for f in day_folders] == [PARTITION]
    published = {f["name"]: f for f in fake_drive.children(day_folders[0]["id"])}
    assert {"report.md", "report.html"} <= set(published)
    assert published["report.md"]["content"].decode() == markdown
    assert _metadata(with_llm, "replay_report")["google_drive_folder"].value.endswith(day_folders[0]["id"])

    # 3) A rerun pays nothing twice (every answer from the cache) and publishes without duplicates.
    calls_before = len(fake_openai.requests)
    rerun = _materialize(downstream, resources)
    assert len(fake_openai.requests) == calls_before
    assert _metadata(rerun, "cluster_summaries")["cache_hits"].value == len(clusters)
    assert [f["name"] for f in fake_drive.children(fake_drive.root_folder)] == [PARTITION]
    assert sorted(f["name"] for f in fake_drive.children(day_folders[0]["id"])) == sorted(published)


def test_replay_links_use_the_eu_host_and_replace_their_partition(object_store_resource, duckdb_resource):
    warehouse = duckdb_resource.get()
    day = load_constructed_day(warehouse, sessions_per_group=1)
    resources = _resources(object_store_resource, duckdb_resource)
    resources["replay_amplitude"] = AmplitudeReplayResource(org_url="acme-eu", project_id="7", region="eu")
    for _ in range(2):
        _materialize([replay_links], resources)
    links = warehouse.query_df("SELECT * FROM replay_links")
    assert len(links) == len(day.expected)
    assert all(
        u.startswith("https://app.eu.amplitude.com/analytics/acme-eu/session-replay/project/7/")
        for u in links["replay_url"]
    )


def test_a_day_without_replays_still_gets_a_report(object_store_resource, duckdb_resource):
    warehouse = duckdb_resource.get()
    warehouse.execute_file("dwh/ddl/events_part.sql")
    warehouse.execute_file("dwh/ddl/tmp_event_properties.sql")
    result = _materialize(ALL_ASSETS, _resources(object_store_resource, duckdb_resource))
    assert _metadata(result, "replay_links")["dagster/row_count"].value == 0
    assert _metadata(result, "session_clusters")["dagster/row_count"].value == 0
    markdown = object_store_resource.store().get_bytes(report_prefix(PARTITION) + "report.md").decode()
    assert "Sessions with a replay: **0**" in markdown


def test_vision_text_comes_from_the_llm_server(object_store_resource, duckdb_resource, fake_openai):
    warehouse = duckdb_resource.get()
    load_constructed_day(warehouse, sessions_per_group=1)
    llm = LLMResource(base_url=fake_openai.base_url, model="test-model", vision_model="test-vision")
    resources = _resources(object_store_resource, duckdb_resource, llm=llm)
    resources["replay_analysis"] = ReplayAnalysisResource(text_source="vision", tesseract=None)
    _materialize([replay_links, replay_screenshots, session_clusters], resources)
    members = warehouse.query_df("SELECT * FROM session_cluster_members")
    assert set(members["text_source"]) == {"vision"}
    assert all(t.startswith("The screens show a checkout page") for t in members["screen_text"])
    vision = [r for r in fake_openai.chat_requests() if r["model"] == "test-vision"]
    assert len(vision) == len(members)
    images = [p for p in vision[0]["messages"][-1]["content"] if p["type"] == "image_url"]
    assert len(images) == 3 and all(p["image_url"]["url"].startswith("data:image/png;base64,") for p in images)
    assert all(r["_auth"] == "Bearer no-key" for r in vision)  # a keyless local server still gets a header


def test_whole_stage_on_postgres(object_store_resource, postgres_resource):
    warehouse = postgres_resource.get()
    day = load_constructed_day(warehouse, sessions_per_group=1)
    result = _materialize(ALL_ASSETS, _resources(object_store_resource, postgres_resource, max_per_day=2))
    links = warehouse.query_df("SELECT replay_id, event_count FROM replay_links")
    assert dict(zip(links["replay_id"], links["event_count"])) == day.event_counts
    assert _metadata(result, "replay_screenshots")["dagster/row_count"].value == 2
    members = warehouse.query_df("SELECT replay_id FROM session_cluster_members")
    assert set(members["replay_id"]) == set(day.expected)
    assert warehouse.row_count("cluster_summaries") == warehouse.row_count("session_clusters") >= 1


def test_whole_stage_on_an_s3_object_store(tmp_path, duckdb_resource, moto_endpoint, s3_bucket, s3_client, fake_openai):
    from dagster_aws.s3 import S3Resource

    from analytics_dagster.defs.resources import ObjectStoreResource

    object_store = ObjectStoreResource(
        local_dir=str(tmp_path / "unused"),
        s3_bucket=s3_bucket,
        s3_prefix="analytics",
        s3=S3Resource(endpoint_url=moto_endpoint),
    )
    load_constructed_day(duckdb_resource.get(), sessions_per_group=1)
    llm = LLMResource(base_url=fake_openai.base_url, model="test-model")
    resources = _resources(object_store, duckdb_resource, llm=llm, max_per_day=2)
    result = _materialize(ALL_ASSETS, resources)
    keys = {o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="analytics/")["Contents"]}
    report_key = f"analytics/reports/replays/{PARTITION}/report.html"
    assert report_key in keys
    assert sum(k.startswith(f"analytics/replays/{PARTITION}/screenshots/") and k.endswith(".png") for k in keys) == 6
    assert any(k.startswith("analytics/llm_cache/") for k in keys)
    report_url = _metadata(result, "replay_report")["report"].value
    assert report_url.startswith(f"{moto_endpoint}/{s3_bucket}/analytics/reports/replays/{PARTITION}/report.html?")
    opened = httpx.get(report_url, timeout=30)  # a presigned link: opens without credentials
    assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/html")
    assert opened.content == s3_client.get_object(Bucket=s3_bucket, Key=report_key)["Body"].read()
    calls = len(fake_openai.requests)
    _materialize([cluster_summaries], resources)
    assert len(fake_openai.requests) == calls  # the cache on S3 answers the rerun


def test_a_run_where_every_replay_fails_fails_with_the_errors_recorded(
    tmp_path, object_store_resource, duckdb_resource
):
    from analytics_dagster_tests.conftest import free_port

    day = load_constructed_day(duckdb_resource.get(), sessions_per_group=1)
    state = tmp_path / "state.json"
    state.write_text('{"cookies": [], "origins": []}')
    resources = _resources(object_store_resource, duckdb_resource, max_per_day=3)
    resources["replay_amplitude"] = AmplitudeReplayResource(
        org_url="acme", app_url=f"http://127.0.0.1:{free_port()}", storage_state=str(state)
    )
    result = dg.materialize(
        [replay_links, replay_screenshots], partition_key=PARTITION, resources=resources, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert "every one of the 3 replays failed to screenshot" in failure.step_failure_data.error.message
    manifest = load_screenshot_manifest(object_store_resource.store(), PARTITION)
    assert not manifest.demo and manifest.available == len(day.expected)
    assert [r.status for r in manifest.replays] == ["failed"] * 3
    assert all("ERR_CONNECTION_REFUSED" in r.error for r in manifest.replays)


def test_a_partition_range_runs_each_day_with_its_own_metadata(object_store_resource, duckdb_resource):
    warehouse = duckdb_resource.get()
    day = load_constructed_day(warehouse, sessions_per_group=1)
    first = (DAY - dt.timedelta(days=1)).isoformat()
    # The day before was loaded from the demo source: its report says so, the later day's does not.
    ensure_load_log(warehouse)
    warehouse.execute(
        "INSERT INTO dwh_partition_loads VALUES (DATE '2026-03-13', 'amplitude', 'demo', 'x', 1, 1, now())"
    )
    defs = dg.Definitions(assets=ALL_ASSETS, resources=_resources(object_store_resource, duckdb_resource))
    job = defs.resolve_implicit_global_asset_job_def()
    assert all(a.backfill_policy == dg.BackfillPolicy.single_run() for a in ALL_ASSETS)
    result = job.execute_in_process(
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: PARTITION}
    )
    assert result.success
    by_asset: dict[str, dict[str, dict]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        by_asset.setdefault(materialization.asset_key.to_user_string(), {})[materialization.partition] = (
            materialization.metadata
        )
    assert set(by_asset) == {a.key.to_user_string() for a in ALL_ASSETS}
    assert all(set(days) == {first, PARTITION} for days in by_asset.values())
    # The day before holds the one session whose first events were uploaded then; each day has its own figures.
    assert by_asset["replay_links"][first]["dagster/row_count"].value == 1
    assert by_asset["replay_links"][PARTITION]["dagster/row_count"].value == len(day.expected)
    store = object_store_resource.store()
    reports = {p: store.get_bytes(report_prefix(p) + "report.html").decode() for p in (first, PARTITION)}
    assert "Demo data" in reports[first] and by_asset["replay_report"][first]["demo_data"].value is True
    assert "Demo data" not in reports[PARTITION] and by_asset["replay_report"][PARTITION]["demo_data"].value is False
    # One check result per check for the run, passing when every day passed.
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert set(checks) == {
        "replay_ids_name_their_sessions",
        "screenshot_failures_are_rare",
        "every_cluster_has_a_summary",
    }
    assert all(c.passed and c.metadata["days"].value == f"{first}..{PARTITION}" for c in checks.values())
    assert all(c.metadata["failing_days"].value == "none" for c in checks.values())


def test_a_failing_day_of_a_range_does_not_stop_the_others(object_store_resource, duckdb_resource):
    load_constructed_day(duckdb_resource.get(), sessions_per_group=1)
    first = (DAY - dt.timedelta(days=1)).isoformat()
    # The later day's sessions were never handed over: its screenshots fail, the earlier day's are recorded.
    defs = dg.Definitions(assets=[replay_screenshots], resources=_resources(object_store_resource, duckdb_resource))
    save_sessions(object_store_resource.store(), first, [])
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: PARTITION}, raise_on_error=False
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert f"1 of 2 days failed ({PARTITION}: " in failure.step_failure_data.error.message
    assert [e.materialization.partition for e in result.get_asset_materialization_events()] == [first]
