"""A missing upstream is never green: a DWH day without the raw day of a configured source fails, naming the
source and the day, and writes nothing; a source left out of ANALYTICS_SOURCES is not required. The DWH follows its
raw days on its own (automation), and a range run loads every day it can before failing on the missing ones."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from analytics_dagster.defs.automation import dwh_automation
from analytics_dagster.defs.dwh.assets import dwh_tables
from analytics_dagster.lib.raw_store import publish_day
from analytics_dagster_tests.dwh.conftest import DAYS


def materialize(object_store_resource, duckdb_resource, **partitions):
    return dg.materialize(
        [dwh_tables],
        resources={"object_store": object_store_resource, "warehouse": duckdb_resource},
        raise_on_error=False,
        **partitions,
    )


def range_tags(first: str, last: str) -> dict[str, str]:
    """What a backfill or `--partition-range` puts on its single run."""
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def stored_days(duckdb_resource) -> list[str]:
    wh = duckdb_resource.get()
    if not wh.table_exists("events_part"):
        return []
    frame = wh.query_df("SELECT DISTINCT partition_date FROM events_part ORDER BY 1")
    return [str(d)[:10] for d in frame["partition_date"]]


def test_a_day_without_a_configured_sources_raw_data_fails_naming_it(
    object_store_resource, duckdb_resource, demo_raw_files
):
    store = object_store_resource.store()
    publish_day(store, "amplitude", DAYS[0], demo_raw_files[("amplitude", DAYS[0])], origin="demo")
    result = materialize(object_store_resource, duckdb_resource, partition_key=DAYS[0])
    assert not result.success
    error = result.failure_data_for_node("dwh_tables").user_failure_data.description
    assert "no raw appmetrica data" in error and DAYS[0] in error and "appmetrica_raw_events" in error
    assert result.get_asset_materialization_events() == []
    assert stored_days(duckdb_resource) == [], "nothing of the day is written"


def test_a_source_left_out_of_the_configuration_is_not_required(
    monkeypatch, object_store_resource, duckdb_resource, demo_raw_files
):
    monkeypatch.setenv("ANALYTICS_SOURCES", "amplitude")
    store = object_store_resource.store()
    publish_day(store, "amplitude", DAYS[0], demo_raw_files[("amplitude", DAYS[0])], origin="demo")
    result = materialize(object_store_resource, duckdb_resource, partition_key=DAYS[0])
    assert result.success
    assert stored_days(duckdb_resource) == [DAYS[0]]


def test_a_range_run_loads_every_complete_day_and_fails_on_the_missing_one(
    object_store_resource, duckdb_resource, demo_raw_files
):
    store = object_store_resource.store()
    first, second = sorted(DAYS)[:2]
    for source in ("amplitude", "appmetrica"):
        publish_day(store, source, first, demo_raw_files[(source, first)], origin="demo")
    publish_day(store, "amplitude", second, demo_raw_files[("amplitude", second)], origin="demo")
    result = materialize(object_store_resource, duckdb_resource, tags=range_tags(first, second))
    assert not result.success
    assert second in result.failure_data_for_node("dwh_tables").error.message
    materialized = {
        (e.asset_key.to_user_string(), e.partition)
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    }
    assert ("events_part", first) in materialized and ("events_part", second) not in materialized
    assert stored_days(duckdb_resource) == [first]


def test_the_dwh_follows_its_raw_days_on_its_own(object_store_resource, duckdb_resource):
    @dg.asset(key="amplitude_raw_events", partitions_def=dwh_tables.partitions_def, group_name="ingest")
    def amplitude_stub() -> None: ...

    @dg.asset(key="appmetrica_raw_events", partitions_def=dwh_tables.partitions_def, group_name="ingest")
    def appmetrica_stub() -> None: ...

    @dg.asset(key="imported_events", partitions_def=dwh_tables.partitions_def, group_name="ingest")
    def imported_stub() -> None: ...

    defs = dg.Definitions(
        assets=[amplitude_stub, appmetrica_stub, imported_stub, dwh_tables],
        sensors=[dwh_automation],
        resources={"object_store": object_store_resource, "warehouse": duckdb_resource},
    )
    instance = dg.DagsterInstance.ephemeral()
    now = dt.datetime(2026, 3, 16, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))

    def evaluate(cursor, minutes: int):
        return dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=cursor, evaluation_time=now + dt.timedelta(minutes=minutes)
        )

    tick = evaluate(None, 0)
    # The daily ingest job stores every raw asset of the day; the AppMetrica one lands last here.
    for asset in ("amplitude_raw_events", "imported_events"):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset, partition="2026-03-10"))
    tick = evaluate(tick.cursor, 1)
    assert tick.total_requested == 0, "the day waits for the AppMetrica raw day"
    instance.report_runless_asset_event(dg.AssetMaterialization("appmetrica_raw_events", partition="2026-03-10"))
    tick = evaluate(tick.cursor, 2)
    assert tick.get_requested_partitions(dg.AssetKey("events_part")) == {"2026-03-10"}
