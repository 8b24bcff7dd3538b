"""A day flows from the demo source through the raw store into the warehouse, as `make run` does it."""

import dagster as dg
import pytest

from analytics_dagster.lib.dwh.tables import DWH_TABLES
from analytics_dagster.lib.raw_store import read_manifest
from analytics_dagster.settings import data_dir
from analytics_dagster_tests.conftest import load_demo_definitions

PARTITION = "2026-03-15"


@pytest.fixture
def demo_definitions(monkeypatch, tmp_path) -> dg.Definitions:
    """The code location as `make run` loads it, on embedded defaults under a temporary data folder."""
    return load_demo_definitions(
        monkeypatch,
        tmp_path,
        events_per_day=600,
        also_unset=("OPENAI_API_KEY", "OPENAI_BASE_URL", "GDRIVE_FOLDER_ID"),
    )


def materialize_day(definitions: dg.Definitions, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    job = dg.define_asset_job("e2e", selection=selection)
    resolved = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def("e2e")
    with dg.instance_for_test() as instance:
        return resolved.execute_in_process(partition_key=PARTITION, instance=instance)


def test_demo_day_reaches_the_warehouse(demo_definitions):
    result = materialize_day(demo_definitions, dg.AssetSelection.groups("ingest", "dwh"))
    assert result.success

    store = demo_definitions.resources["object_store"].store()
    assert store.local_path("x").is_relative_to(data_dir())
    manifest = read_manifest(store, "amplitude", PARTITION)
    assert manifest.is_demo and manifest.total_lines > 0
    ingest_metadata = result.asset_materializations_for_node("amplitude_raw_events")[0].metadata
    assert ingest_metadata["demo_data"].value is True

    warehouse = demo_definitions.resources["warehouse"].get()
    counts = warehouse.query_df(
        "SELECT source, count(*) AS n, count(DISTINCT uuid) AS uuids FROM events_part "
        "WHERE partition_date = $day GROUP BY source ORDER BY source",
        {"day": PARTITION},
    )
    assert counts["source"].tolist() == ["amplitude", "appmetrica"]
    assert (counts["n"] == counts["uuids"]).all() and (counts["n"] > 0).all()
    for table in DWH_TABLES:
        assert warehouse.row_count(table) > 0, table
