"""The demo day sources alone, without Dagster: what they log, store and report for one day."""

import datetime as dt

from analytics_dagster.lib.amplitude_sources import AmplitudeDemoSource
from analytics_dagster.lib.appmetrica_sources import AppMetricaDemoSource
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import read_manifest
from analytics_dagster_tests.ingest.helpers import ListLog

DAY = "2025-07-01"


def test_amplitude_demo_source_says_it_stores_demo_data_and_publishes_the_day(tmp_path):
    store, log = LocalObjectStore(tmp_path / "store"), ListLog()
    with AmplitudeDemoSource(300, store, log) as source:
        result = source.fetch_day(DAY, tmp_path / "work")
    assert source.parallel == 1
    assert log.lines[0].startswith("No Amplitude credentials set: storing DEMO data (300 events per day).")
    assert log.lines[1] == f"{DAY}: stored {len(result.manifest.files)} DEMO files, {result.rows:,} events"
    stored = read_manifest(store, "amplitude", dt.date.fromisoformat(DAY))
    assert stored is not None and stored.origin == "demo" and stored.details["events_per_day"] == 300
    assert result.rows == stored.total_lines > 0 and result.metadata == {}
    assert result.preview.startswith("| file | lines | bytes |\n|---|---:|---:|\n| ")


def test_appmetrica_demo_source_stores_every_configured_table(tmp_path):
    store, log = LocalObjectStore(tmp_path / "store"), ListLog()
    with AppMetricaDemoSource(["events", "installations"], 3000, store, log) as source:
        result = source.fetch_day(DAY, tmp_path / "work")
    assert log.lines[0].startswith("No AppMetrica credentials set: storing DEMO data (3,000 events per day).")
    assert log.lines[1].startswith(f"{DAY}: stored DEMO AppMetrica events: ")
    records = result.manifest.details["records"]
    assert set(records) == {"events", "installations"} and result.rows == records["events"] > 0
    assert result.metadata == {"installations_records": records["installations"]}
    assert {f.name for f in result.manifest.files} == {"events.json.gz", "installations.json.gz"}
    assert result.preview.startswith("| event_receive_datetime | event_name |")
