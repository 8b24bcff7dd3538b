"""A day flows from the demo source through the raw store into the warehouse, as `make run` does it."""

import dagster as dg
import pytest

from analytics_dagster.definitions import defs
from analytics_dagster.lib.raw_store import read_manifest

PARTITION = "2026-03-15"
INGEST_AND_DWH = dg.AssetSelection.groups("ingest", "dwh")


@pytest.fixture
def demo_env(monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_EVENTS_PER_DAY", "600")
    monkeypatch.setenv("ANALYTICS_DATA_DIR", str(tmp_path / "data"))
    for name in ("AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY", "APPMETRICA_TOKEN", "APPMETRICA_APPLICATION_ID", "S3_BUCKET"):
        monkeypatch.delenv(name, raising=False)


def materialize_day(definitions: dg.Definitions, resources: dict, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    graph = definitions.resolve_asset_graph()
    keys = selection.resolve(graph)
    assets = [definitions.resolve_assets_def(key) for key in keys]
    with dg.instance_for_test() as instance:
        return dg.materialize(
            list({id(a): a for a in assets}.values()),
            partition_key=PARTITION,
            resources={**definitions.resources, **resources},
            instance=instance,
            selection=selection,
        )


def test_demo_day_reaches_the_warehouse(demo_env, object_store_resource, duckdb_resource):
    result = materialize_day(defs(), {"object_store": object_store_resource, "warehouse": duckdb_resource}, INGEST_AND_DWH)
    assert result.success

    store = object_store_resource.store()
    manifest = read_manifest(store, "amplitude", PARTITION)
    assert manifest.is_demo and manifest.total_lines > 0
    ingest_metadata = result.asset_materializations_for_node("amplitude_raw_events")[0].metadata
    assert ingest_metadata["demo_data"].value is True

    warehouse = duckdb_resource.get()
    counts = warehouse.query_df(
        "SELECT source, count(*) AS n, count(DISTINCT uuid) AS uuids FROM events_part "
        "WHERE partition_date = $day GROUP BY source ORDER BY source",
        {"day": PARTITION},
    )
    assert counts["source"].tolist() == ["amplitude", "appmetrica"]
    assert (counts["n"] == counts["uuids"]).all() and (counts["n"] > 0).all()
    for table in ("mobile_devices", "permanent_user_properties", "changeable_user_properties", "technical_data",
                  "tmp_event_properties", "tmp_user_properties", "user_locations"):
        assert warehouse.row_count(table) > 0, table
