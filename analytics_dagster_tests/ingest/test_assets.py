"""The ingest assets through Dagster: demo vs real, a 7-day backfill against faults, partial failures, S3 runs."""

import datetime as dt
import gzip
import time
from concurrent.futures import Future, ThreadPoolExecutor

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from analytics_dagster.defs.ingest.assets import amplitude_raw_events, appmetrica_raw_events
from analytics_dagster.defs.ingest.resources import (
    AMPLITUDE_POOL,
    APPMETRICA_POOL,
    AmplitudeResource,
    AppMetricaResource,
)
from analytics_dagster.defs.ingest.sensors import amplitude_s3_export_sensor
from analytics_dagster.lib.raw_store import publish_day, read_manifest
from analytics_dagster_tests.ingest.fault_server import AMPLITUDE_FAULTS, APPMETRICA_FAULTS, FaultPlan, FaultServer
from analytics_dagster_tests.ingest.helpers import amplitude_resource, appmetrica_resource, gunzip

DAY = "2026-03-15"
WEEK = [str(dt.date(2026, 3, 9) + dt.timedelta(days=n)) for n in range(7)]


def range_tags(days: list[str]) -> dict[str, str]:
    return {ASSET_PARTITION_RANGE_START_TAG: days[0], ASSET_PARTITION_RANGE_END_TAG: days[-1]}


def run_log(instance: dg.DagsterInstance, run_id: str) -> str:
    return "\n".join(entry.user_message for entry in instance.all_logs(run_id))


def failure_text(result: dg.ExecuteInProcessResult, asset: str) -> str:
    return result.failure_data_for_node(asset).error.to_string()


def materializations(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, dict]:
    return {m.partition: m.metadata for m in result.asset_materializations_for_node(asset)}


def demo_resources(object_store_resource) -> dict:
    return {"object_store": object_store_resource, "amplitude": AmplitudeResource(), "appmetrica": AppMetricaResource()}


def wait_until_pending_in(instance: dg.DagsterInstance, pool: str, run: Future) -> None:
    """Until a step waits for a slot of ``pool``; fails at once if the run ends without ever waiting."""
    deadline = time.monotonic() + 300  # generous: a loaded machine may take long to start the run
    while not instance.event_log_storage.get_concurrency_info(pool).pending_step_count:
        assert not run.done(), f"the run ended without waiting for a slot of pool {pool}: {run.exception()}"
        assert time.monotonic() < deadline, f"no step of the run waits for pool {pool} after 300 s"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "asset, pool, source",
    [(amplitude_raw_events, AMPLITUDE_POOL, "amplitude"), (appmetrica_raw_events, APPMETRICA_POOL, "appmetrica")],
)
def test_an_api_asset_waits_for_a_free_slot_of_its_pool(monkeypatch, object_store_resource, asset, pool, source):
    monkeypatch.setenv("DEMO_EVENTS_PER_DAY", "300")
    store = object_store_resource.store()
    with dg.instance_for_test() as instance, ThreadPoolExecutor(1) as runner:
        slots = instance.event_log_storage
        slots.set_concurrency_slots(pool, 1)  # what `make instance` sets: one API-calling run at a time
        assert slots.claim_concurrency_slot(pool, "another-run", "its-step").is_claimed
        run = runner.submit(
            dg.materialize, [asset], partition_key=DAY, resources=demo_resources(object_store_resource),
            instance=instance,
        )  # fmt: skip
        wait_until_pending_in(instance, pool, run)
        assert store.list_keys("raw") == []  # waiting before its body ran
        slots.free_concurrency_slots_for_run("another-run")
        result = run.result(timeout=600)
        log = run_log(instance, result.run_id)
    assert result.success and f"Step blocked by limit for pool {pool}" in log
    assert read_manifest(store, source, DAY).partition == DAY


def test_a_run_over_a_partition_range_materializes_every_day_of_it(monkeypatch, object_store_resource):
    """A backfill launches runs over ranges of days, whatever its policy: each day of the range is stored and
    reported as its own partition."""
    monkeypatch.setenv("DEMO_EVENTS_PER_DAY", "300")
    days = WEEK[:3]
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [amplitude_raw_events, appmetrica_raw_events], resources=demo_resources(object_store_resource),
            instance=instance, tags=range_tags(days),
        )  # fmt: skip
    store = object_store_resource.store()
    for asset, source in (("amplitude_raw_events", "amplitude"), ("appmetrica_raw_events", "appmetrica")):
        reported = materializations(result, asset)
        assert set(reported) == set(days)
        for day in days:
            manifest = read_manifest(store, source, day)
            assert manifest.partition == day and manifest.is_demo and manifest.total_lines > 0
            assert reported[day]["dagster/row_count"].value > 0


def test_without_credentials_both_assets_store_demo_data_and_say_so(monkeypatch, object_store_resource):
    monkeypatch.setenv("DEMO_EVENTS_PER_DAY", "300")
    appmetrica = AppMetricaResource(tables=["sessions_starts", "events", "installations"])
    resources = {"object_store": object_store_resource, "amplitude": AmplitudeResource(), "appmetrica": appmetrica}
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [amplitude_raw_events, appmetrica_raw_events], partition_key=DAY, resources=resources, instance=instance
        )
        log = run_log(instance, result.run_id)
    store = object_store_resource.store()
    for source, asset in (("amplitude", "amplitude_raw_events"), ("appmetrica", "appmetrica_raw_events")):
        manifest = read_manifest(store, source, DAY)
        assert manifest.is_demo and manifest.total_lines > 0
        metadata = materializations(result, asset)[DAY]
        assert metadata["demo_data"].value is True and metadata["dagster/row_count"].value > 0
    assert "No Amplitude credentials set: storing DEMO data" in log
    assert "No AppMetrica credentials set: storing DEMO data" in log
    appmetrica_files = sorted(f.name for f in read_manifest(store, "appmetrica", DAY).files)
    assert appmetrica_files == ["events.json.gz", "installations.json.gz", "sessions_starts.json.gz"]
    metadata = materializations(result, "appmetrica_raw_events")[DAY]
    assert metadata["installations_records"].value > 0 and metadata["sessions_starts_records"].value > 0
    assert "| event_receive_datetime | event_name |" in metadata["preview"].value


@pytest.mark.parametrize(
    "resources, message",
    [
        ({"amplitude": AmplitudeResource(api_key="k")}, "AMPLITUDE_API_KEY is set but AMPLITUDE_SECRET_KEY is not"),
        ({"amplitude": AmplitudeResource(secret_key="s")}, "AMPLITUDE_SECRET_KEY is set but AMPLITUDE_API_KEY is not"),
        ({"appmetrica": AppMetricaResource(token="t")}, "APPMETRICA_TOKEN is set but APPMETRICA_APPLICATION_ID is not"),
    ],
)
def test_half_configured_credentials_fail_instead_of_falling_back_to_demo(object_store_resource, resources, message):
    (asset,) = [amplitude_raw_events if "amplitude" in resources else appmetrica_raw_events]
    result = dg.materialize(
        [asset], partition_key=DAY, resources={"object_store": object_store_resource, **resources}, raise_on_error=False
    )
    assert not result.success
    assert message in failure_text(result, asset.op.name)
    assert object_store_resource.store().list_keys("raw") == []


def test_seven_day_backfill_through_faults_stores_exactly_what_the_server_served(object_store_resource):
    # a random 35% of attempts get a fault (a hash of request and attempt), and every kind is served at least once
    plan = FaultPlan(rate=0.35, seed=10, max_export_hours=12, prepare_polls=2,
                     every_kind_once=frozenset(AMPLITUDE_FAULTS + APPMETRICA_FAULTS))  # fmt: skip
    with FaultServer(plan, days=WEEK) as server, dg.instance_for_test() as instance:
        result = dg.materialize(
            [amplitude_raw_events, appmetrica_raw_events],
            resources={
                "object_store": object_store_resource,
                "amplitude": amplitude_resource(server),
                "appmetrica": appmetrica_resource(server),
            },  # fmt: skip
            instance=instance,
            tags=range_tags(WEEK),
        )
        log = run_log(instance, result.run_id)
        records = server.records
        served_members, served_bodies = server.served_amplitude, server.served_appmetrica
    assert result.success
    store = object_store_resource.store()
    for day in WEEK:
        amplitude = read_manifest(store, "amplitude", day)
        expected = server.expected_amplitude_day(day)  # the whole day, as the API holds it: nothing missing
        assert amplitude.origin == "export_api" and sorted(f.name for f in amplitude.files) == sorted(expected)
        for name in expected:
            assert store.get_bytes(f"raw/amplitude/{day}/{name}") == served_members[name], (day, name)
        appmetrica = read_manifest(store, "appmetrica", day)
        assert appmetrica.origin == "logs_api"
        stored_body = gzip.decompress(store.get_bytes(f"raw/appmetrica/{day}/events.json.gz"))
        assert stored_body == served_bodies[("events", day)] == server.expected_appmetrica_body("events", day)
    assert set(materializations(result, "amplitude_raw_events")) == set(WEEK)
    appmetrica_metadata = materializations(result, "appmetrica_raw_events")
    assert set(appmetrica_metadata) == set(WEEK)
    assert all(m["demo_data"].value is False for m in appmetrica_metadata.values())
    # every Logs API request is counted in the metadata, as a 202 poll, a 429 queue wait, a retried fault or the
    # download. (A reply the client gave up waiting for is a retry to the client, whatever the server sent: hence
    # bounds, not equalities, per kind.)
    appmetrica_records = [r for r in records if r.api == "appmetrica"]
    counted = {
        name: sum(m[name].value for m in appmetrica_metadata.values())
        for name in ("requests", "prepare_polls", "queue_waits", "retries")
    }
    assert counted["requests"] == len(appmetrica_records)
    assert counted["requests"] == counted["prepare_polls"] + counted["queue_waits"] + counted["retries"] + len(WEEK)
    assert 0 < counted["prepare_polls"] <= sum(1 for r in appmetrica_records if r.status == 202 and not r.fault)
    assert 0 < counted["queue_waits"] <= sum(1 for r in appmetrica_records if r.status == 429)
    assert counted["retries"] >= sum(1 for r in appmetrica_records if r.fault and r.status not in (202, 429))

    for api, kinds in (("amplitude", AMPLITUDE_FAULTS), ("appmetrica", APPMETRICA_FAULTS)):
        of_api = [r for r in records if r.api == api]
        share = server.fault_share(of_api)
        assert share >= 0.2, f"only {share:.0%} of {len(of_api)} {api} requests had a fault"
        assert set(kinds) <= {r.fault for r in of_api}
    # every fault shows in the run log: as a retry, a wait for the queue, or a split of the timed-out window
    logged = log.count("; retry ") + log.count("free place in the queue") + log.count("HTTP 504, the export timed out")
    assert logged == sum(1 for r in records if r.fault)
    # every day's 24-hour window is split: answered 400 (over 12 hours here) unless a 504 split it first
    splits = log.count("HTTP 400, over the 4 GB export limit") + log.count("HTTP 504, the export timed out")
    assert splits >= len(WEEK) and "splitting the window into" in log
    assert "being prepared (HTTP 202)" in log
    assert server.state.secret_key not in log and server.state.token not in log


def test_a_failed_day_fails_the_run_but_the_other_days_are_recorded(object_store_resource):
    plan = FaultPlan(oversize_hours=frozenset({dt.datetime(2026, 3, 10, 5)}))
    days = WEEK[:3]
    with FaultServer(plan, days=days) as server, dg.instance_for_test() as instance:
        result = dg.materialize(
            [amplitude_raw_events],
            resources={"object_store": object_store_resource, "amplitude": amplitude_resource(server)},
            instance=instance,
            tags=range_tags(days),
            raise_on_error=False,
        )
        recorded = {
            event.asset_materialization.partition
            for event in instance.get_records_for_run(result.run_id).records
            if event.event_log_entry.dagster_event and event.event_log_entry.dagster_event.is_step_materialization
        }
    assert not result.success
    error = failure_text(result, "amplitude_raw_events")
    assert "1 of 3 days failed" in error and "2026-03-10" in error and "S3 export" in error
    assert recorded == {"2026-03-09", "2026-03-11"}
    store = object_store_resource.store()
    assert read_manifest(store, "amplitude", "2026-03-10") is None
    assert read_manifest(store, "amplitude", "2026-03-11").origin == "export_api"


def gz_lines(*lines: str) -> bytes:
    return gzip.compress("".join(f"{line}\n" for line in lines).encode(), mtime=0)


def test_an_s3_export_run_replaces_the_hours_it_has_and_keeps_the_others(
    tmp_path, object_store_resource, moto_endpoint, s3_bucket, s3_client
):
    store = object_store_resource.store()
    earlier = []
    for hour in ("2026-03-14_21", "2026-03-15_4", "2026-03-15_5"):
        path = tmp_path / f"100001_{hour}#0.json.gz"
        path.write_bytes(gz_lines(f"api {hour}"))
        earlier.append(path)
    publish_day(store, "amplitude", DAY, earlier, origin="export_api")
    s3_objects = {
        "export/100001/100001_2026-03-15_4#0.json.gz": gz_lines("s3 4 part 0", "s3 4 part 0 b"),
        "export/100001/100001_2026-03-15_4#1.json.gz": gz_lines("s3 4 part 1"),
        "export/1000/1000_2026-03-15_20#0.json.gz": gz_lines("other project"),
        "export/100001/100001_2026-03-15_21#0.json.gz": gz_lines("next Moscow day"),
    }
    for key, body in s3_objects.items():
        s3_client.put_object(Bucket=s3_bucket, Key=key, Body=body)
    s3_client.put_object(Bucket=s3_bucket, Key="export/100001/100001_2026-03-15_4_complete", Body=b"")
    amplitude = AmplitudeResource(s3_export_prefix=f"s3://{s3_bucket}/export", s3_endpoint_url=moto_endpoint)
    tick = amplitude_s3_export_sensor(dg.build_sensor_context(resources={"amplitude": amplitude}))
    request = next(r for r in tick.run_requests if r.partition_key == DAY)  # the other one is for the 16th

    result = dg.materialize(
        [amplitude_raw_events], partition_key=request.partition_key, run_config=request.run_config,
        resources={"object_store": object_store_resource, "amplitude": amplitude},
    )  # fmt: skip

    assert result.success
    manifest = read_manifest(store, "amplitude", DAY)
    assert {f.name for f in manifest.files} == {
        "1000_2026-03-15_20#0.json.gz",  # another project's folder
        "100001_2026-03-14_21#0.json.gz",  # kept: the S3 export has nothing for this hour
        "100001_2026-03-15_4#0.json.gz",  # hour 4 replaced by the export's two parts
        "100001_2026-03-15_4#1.json.gz",
        "100001_2026-03-15_5#0.json.gz",  # kept
    }  # 100001_2026-03-15_21 is 00:00 Moscow time of the next day: not this partition's
    for key, body in list(s3_objects.items())[:3]:
        assert store.get_bytes(f"raw/amplitude/{DAY}/{key.rsplit('/', 1)[-1]}") == body
    assert gunzip(store.local_path(f"raw/amplitude/{DAY}/100001_2026-03-15_5#0.json.gz")) == b"api 2026-03-15_5\n"
    assert manifest.origin == "s3_export" and manifest.total_lines == 6
    assert manifest.details["complete_hours"] == ["2026-03-15T04"]
    assert manifest.details["kept_from_previous"]["origin"] == "export_api"
    metadata = materializations(result, "amplitude_raw_events")[DAY]
    assert metadata["complete_hours"].value == 1 and metadata["demo_data"].value is False
