"""imported_events through Dagster into a temporary DuckDB warehouse: the dry run, the real import, idempotency, a
changed file, and the metrics of the day."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import dagster as dg

from analytics_dagster.defs.metrics.assets import metrics_activity
from analytics_dagster.lib.dwh.quarantine import QUARANTINE_FILE, quarantine_prefix
from analytics_dagster.lib.imports.rows import event_uuid
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster_tests.dwh.conftest import table_state
from analytics_dagster_tests.imports.conftest import (
    CSV_KEY,
    DAY,
    HEADER,
    SEEDED_INVALID,
    SEEDED_VALID,
    T0,
    csv_bytes,
    demo_raw_files,
    drop_file,
    drop_seeded_day,
    publish_demo,
    run_dwh,
    run_import,
)


def imported_rows(resources: dict) -> dict[str, tuple[str, str]]:
    frame = (
        resources["warehouse"]
        .get()
        .query_df("SELECT uuid, insert_id, event_type, user_key FROM events_part WHERE source = 'import'")
    )
    assert all(row.uuid == event_uuid(row.insert_id) for row in frame.itertuples())
    assert frame["insert_id"].is_unique
    return {row.insert_id: (row.event_type, row.user_key) for row in frame.itertuples()}


def metadata_of(event) -> dict:
    return {key: value.value for key, value in event.metadata.items()}


def test_dry_run_writes_nothing_and_reports_exactly_the_invalid_rows(resources, store: LocalObjectStore):
    run_dwh(resources)  # the day without imports: the warehouse exists and holds the other sources
    before = table_state(resources["warehouse"].get())
    drop_seeded_day(store)
    landing_before = {key: store.get_bytes(key) for key in store.list_keys("landing")}

    result = run_import(resources, dry_run=True)

    assert result.success
    assert not result.get_asset_materialization_events()  # a dry run is an observation, never a materialization
    [observation] = [e.event_specific_data.asset_observation for e in result.get_asset_observation_events()]
    report = metadata_of(observation)
    assert report["invalid_row_list"] == SEEDED_INVALID
    assert report["invalid_rows"] == len(SEEDED_INVALID)
    assert report["rows_per_file"] == {CSV_KEY: 10, CSV_KEY.replace("events.csv", "more.ndjson.gz"): 3}
    assert report["duplicates_within_files"] == 2  # ok-1 twice in the CSV, ok-2 in both files
    assert report["would_load"] == len(SEEDED_VALID)
    assert report["dry_run"] is True and observation.partition == DAY
    assert store.list_keys("raw/import") == []
    assert {key: store.get_bytes(key) for key in store.list_keys("landing")} == landing_before
    assert table_state(resources["warehouse"].get()) == before


def test_real_import_loads_the_valid_rows_again_changes_nothing_and_a_changed_file_replaces_its_rows(
    resources, store: LocalObjectStore
):
    drop_seeded_day(store)
    result = run_import(resources)
    [materialization] = result.asset_materializations_for_node("imported_events")
    assert metadata_of(materialization)["would_load"] == len(SEEDED_VALID)
    run_dwh(resources)
    assert imported_rows(resources) == SEEDED_VALID
    props = (
        resources["warehouse"]
        .get()
        .query_df("SELECT event_properties FROM tmp_event_properties WHERE uuid = $uuid", {"uuid": event_uuid("ok-1")})
    )
    assert json.loads(props["event_properties"][0]) == {"revenue": 12.5, "plan": "enterprise"}  # the later copy
    with gzip.open(store.local_path(f"{quarantine_prefix(DAY)}/{QUARANTINE_FILE}"), "rt") as handle:
        quarantined = [json.loads(line) for line in handle]
    assert sorted((r["line"], r["reason"]) for r in quarantined) == sorted(
        (int(entry.split(" line ")[1].split(":")[0]), entry.split(": ", 1)[1]) for entry in SEEDED_INVALID
    )
    loaded = table_state(resources["warehouse"].get())

    assert run_import(resources).success  # importing the same files again
    run_dwh(resources)
    assert table_state(resources["warehouse"].get()) == loaded

    copy_key = CSV_KEY.replace("events.csv", "events-again.csv")  # the same file dropped under another name
    drop_file(store, copy_key, store.get_bytes(CSV_KEY), T0.replace(hour=9))
    assert run_import(resources).success
    run_dwh(resources)
    assert imported_rows(resources) == SEEDED_VALID
    store.delete([copy_key])

    changed = [
        HEADER,
        "ok-1,purchase_refunded,2026-03-10T12:00:00+03:00,imp-user-1,,17,web,,",
        "ok-8,trial_started,2026-03-10T13:00:00Z,imp-user-8,,,,,",
        "ok-7,report_exported,2026-03-10 09:30:00,imp-user-7,,,,,",
    ]
    drop_file(store, CSV_KEY, csv_bytes(changed), T0.replace(hour=10))
    assert run_import(resources).success
    run_dwh(resources)
    assert imported_rows(resources) == {
        "ok-1": ("purchase_refunded", "imp-user-1"),
        "ok-8": ("trial_started", "imp-user-8"),
        "ok-7": ("report_exported", "imp-user-7"),
        "ok-2": ("email_opened", "device:imp-device-2"),  # from the NDJSON file, which is unchanged
        "nd-1": ("refund", "imp-user-1"),
    }


def test_a_real_run_over_the_invalid_share_publishes_nothing(resources, store: LocalObjectStore):
    drop_seeded_day(store)
    result = run_import(resources, raise_on_error=False, max_invalid_share=0.1)
    assert not result.success
    assert store.list_keys("raw/import") == []


def test_a_day_without_landing_files_imports_nothing_and_loads(resources):
    assert run_import(resources).success
    run_dwh(resources)
    assert imported_rows(resources) == {}
    loads = resources["warehouse"].get().query_df("SELECT source, loaded FROM dwh_partition_loads ORDER BY source")
    assert loads.values.tolist()[-1] == ["import", 0]


def test_the_metrics_of_the_day_count_imported_users(resources, store: LocalObjectStore, tmp_path):
    # a metric run of day D recomputes D-3..D (late events): those upload days hold demo events too
    earlier = [str(dt.date.fromisoformat(DAY) - dt.timedelta(days=n)) for n in (3, 2, 1)]
    for day in earlier:
        publish_demo(store, demo_raw_files(day, tmp_path / f"demo-{day}"), day)
    run_dwh(resources, first_day=earlier[0])

    def dau() -> int:
        result = dg.materialize([metrics_activity], resources={"warehouse": resources["warehouse"]}, partition_key=DAY)
        assert result.success
        return result.asset_materializations_for_node("metrics_activity")[-1].metadata["dau"].value

    without_imports = dau()
    drop_seeded_day(store)
    assert run_import(resources).success
    run_dwh(resources)
    imported_users = {user for _, user in SEEDED_VALID.values()}
    assert dau() == without_imports + len(imported_users)
