"""The dwh_tables multi-asset in Dagster: eight materializations, metadata, checks, and failing loudly."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from analytics_dagster.defs.dwh.assets import dwh_tables
from analytics_dagster.lib.dwh.checks import check_partition
from analytics_dagster.lib.dwh.tables import DWH_TABLES
from analytics_dagster_tests.dwh.conftest import DAYS, amplitude_record, publish_amplitude


@pytest.fixture(params=["duckdb_resource", "postgres_resource"])
def warehouse_resource(request):
    return request.getfixturevalue(request.param)


def materialize(object_store_resource, warehouse_resource, day=DAYS[0], run_config=None):
    return dg.materialize(
        [dwh_tables],
        partition_key=day,
        resources={"object_store": object_store_resource, "warehouse": warehouse_resource},
        run_config=run_config,
        raise_on_error=False,
    )


def test_materializes_eight_tables_with_metadata_and_passing_checks(
    object_store_resource, warehouse_resource, demo_raw_files
):
    from analytics_dagster.lib.raw_store import publish_day

    store = object_store_resource.store()
    for source in ("amplitude", "appmetrica"):
        publish_day(store, source, DAYS[0], demo_raw_files[(source, DAYS[0])], origin="demo")

    result = materialize(object_store_resource, warehouse_resource)

    assert result.success
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata for e in result.get_asset_materialization_events()
    }
    assert set(materialized) == set(DWH_TABLES)
    for table, metadata in materialized.items():
        assert metadata["dagster/row_count"].value > 0, table
        assert metadata["demo_data"].value is True
        assert "|" in metadata["preview"].value
    events = materialized["events_part"]
    assert events["amplitude_origin"].value == "demo"
    assert events["dagster/row_count"].value == events["amplitude_loaded"].value + events["appmetrica_loaded"].value
    checks = {(c.asset_key.to_user_string(), c.check_name): c.passed for c in result.get_asset_check_evaluations()}
    assert len(checks) == 2 * len(DWH_TABLES) + 1
    assert all(checks.values()), [key for key, passed in checks.items() if not passed]


def test_too_many_malformed_lines_fail_the_run(object_store_resource, warehouse_resource, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_SOURCES", "amplitude")
    records = [json.dumps(amplitude_record(f"00000000-0000-4000-8000-{i:012d}")) for i in range(9)]
    publish_amplitude(object_store_resource.store(), DAYS[0], {"h.json.gz": [*records, "{oops"]}, tmp_path)

    result = materialize(
        object_store_resource,
        warehouse_resource,
        run_config={"ops": {"dwh_tables": {"config": {"max_quarantine_share": 0.05}}}},
    )

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert "h.json.gz line 10: malformed JSON" in failure.description
    assert failure.metadata["quarantined"].value == 1
    store = object_store_resource.store()  # the link opens the quarantined records (report server / presigned)
    assert failure.metadata["quarantine"].value == store.public_url(f"quarantine/dwh/{DAYS[0]}/records.jsonl.gz")
    assert warehouse_resource.get().row_count("events_part") == 0


def test_checks_fail_on_a_duplicated_key(object_store_resource, duckdb_resource, tmp_path, monkeypatch):
    monkeypatch.setenv("ANALYTICS_SOURCES", "amplitude")
    records = [json.dumps(amplitude_record(f"00000000-0000-4000-8000-{i:012d}")) for i in range(3)]
    publish_amplitude(object_store_resource.store(), DAYS[0], {"h.json.gz": records}, tmp_path)
    assert materialize(object_store_resource, duckdb_resource).success
    warehouse = duckdb_resource.get()
    warehouse.execute("INSERT INTO events_part SELECT * FROM events_part LIMIT 1")

    outcomes = {(o.table, o.name): o for o in check_partition(warehouse, DAYS[0], 3, 0.5)}

    assert not outcomes[("events_part", "unique_key")].passed
    assert not outcomes[("events_part", "non_empty")].passed  # 4 rows stored, the raw day yields 3
    assert outcomes[("technical_data", "unique_key")].passed


def test_raw_files_on_s3_are_downloaded_and_loaded(moto_endpoint, s3_bucket, duckdb_resource, demo_raw_files, tmp_path):
    from dagster_aws.s3 import S3Resource

    from analytics_dagster.defs.resources import ObjectStoreResource
    from analytics_dagster.lib.raw_store import publish_day

    object_store = ObjectStoreResource(
        local_dir=str(tmp_path / "unused"),
        s3_bucket=s3_bucket,
        s3_prefix="analytics",
        s3=S3Resource(endpoint_url=moto_endpoint, region_name="us-east-1"),
    )
    store = object_store.store()
    assert store.local_path("raw") is None
    for source in ("amplitude", "appmetrica"):
        publish_day(store, source, DAYS[0], demo_raw_files[(source, DAYS[0])], origin="demo")

    result = materialize(object_store, duckdb_resource)

    assert result.success
    events = next(e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == "events_part")
    assert events.materialization.metadata["dagster/row_count"].value == duckdb_resource.get().row_count("events_part")
    assert store.exists(f"quarantine/dwh/{DAYS[0]}/_summary.json")
