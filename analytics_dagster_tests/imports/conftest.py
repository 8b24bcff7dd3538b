"""Fixtures of the import tests: a seeded landing day (valid, invalid and duplicate rows in CSV and NDJSON), small
demo raw days of the other sources, and Dagster runs of imported_events and the DWH."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from pathlib import Path

import dagster as dg
import pytest

from analytics_dagster import demo
from analytics_dagster.defs.dwh.assets import dwh_tables
from analytics_dagster.defs.ingest.imports import imported_events
from analytics_dagster.defs.resources import ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.imports.landing import landing_day_prefix
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import extract_export_zip, publish_day

DAY = "2026-03-10"
HEADER = "event_id,event_type,occurred_at,user_id,device_id,session_id,platform,properties,plan"
SEEDED_CSV = [
    HEADER,
    'ok-1,purchase,2026-03-10T12:00:00+03:00,imp-user-1,,17,web,"{""revenue"": 12.5}",pro',
    "ok-2,email_opened,1773133200,,imp-device-2,,,,",
    ",signup,2026-03-10T10:00:00Z,imp-user-4,,,,,",
    "ok-3,invoice_sent,1773136800000,imp-user-3,,,,,",
    "ok-4,login,yesterday,imp-user-4,,,,,",
    "ok-5,logout,2026-03-10T11:00:00Z,,,,,,",
    'ok-6,page,2026-03-10T11:00:00Z,imp-user-6,,,,"{oops",',
    "ok-7,report_exported,2026-03-10 09:30:00,imp-user-7,,,,,",
    'ok-1,purchase,2026-03-10T12:00:00+03:00,imp-user-1,,17,web,"{""revenue"": 12.5}",enterprise',
    "only,three,fields",
]
SEEDED_NDJSON = [
    {
        "event_id": "nd-1",
        "event_type": "refund",
        "occurred_at": "2026-03-10T15:00:00+03:00",
        "user_id": "imp-user-1",
        "properties": {"amount": 3},
    },
    "{broken",
    {
        "event_id": "ok-2",
        "event_type": "email_opened",
        "occurred_at": 1773133200,
        "device_id": "imp-device-2",
        "campaign": "spring",
    },
]
CSV_KEY = f"{landing_day_prefix(DAY)}events.csv"
NDJSON_KEY = f"{landing_day_prefix(DAY)}more.ndjson.gz"
# (file, line, reason) of every invalid row above
SEEDED_INVALID = [
    f"{CSV_KEY} line 4: missing event_id",
    f"{CSV_KEY} line 6: occurred_at is not an ISO-8601 time or a Unix time: yesterday",
    f"{CSV_KEY} line 7: neither user_id nor device_id",
    f"{CSV_KEY} line 8: properties is not valid JSON",
    f"{CSV_KEY} line 11: 3 fields where the header has 9",
    f"{NDJSON_KEY} line 2: malformed JSON",
]
# event_id -> (event_type, user_key) of the events the seeded day loads
SEEDED_VALID = {
    "ok-1": ("purchase", "imp-user-1"),
    "ok-2": ("email_opened", "device:imp-device-2"),
    "ok-3": ("invoice_sent", "imp-user-3"),
    "ok-7": ("report_exported", "imp-user-7"),
    "nd-1": ("refund", "imp-user-1"),
}
T0 = dt.datetime(2026, 3, 11, 8, 0, tzinfo=dt.UTC)


def drop_file(store: LocalObjectStore, key: str, content: bytes, modified: dt.datetime) -> None:
    path = store.local_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, ns=(int(modified.timestamp() * 1e9),) * 2)


def csv_bytes(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def drop_seeded_day(store: LocalObjectStore) -> None:
    drop_file(store, CSV_KEY, csv_bytes(SEEDED_CSV), T0)
    ndjson = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in SEEDED_NDJSON) + "\n"
    drop_file(store, NDJSON_KEY, gzip.compress(ndjson.encode()), T0 + dt.timedelta(minutes=1))  # newer: wins ok-2


def demo_raw_files(day: str, root: Path) -> dict[str, list[Path]]:
    """Small demo raw days of Amplitude and AppMetrica, so the DWH loads a day like production's."""
    root.mkdir(parents=True, exist_ok=True)
    zip_path = root / "amplitude.zip"
    demo.write_amplitude_export_zip(day, zip_path, events_per_day=40)
    appmetrica = root / "appmetrica" / "events.json.gz"
    appmetrica.parent.mkdir()
    demo.write_appmetrica_events_json(day, appmetrica, events_per_day=40, gzip_output=True)
    return {"amplitude": extract_export_zip(zip_path, root / "amplitude"), "appmetrica": [appmetrica]}


def publish_demo(store: LocalObjectStore, files: dict[str, list[Path]], day: str) -> None:
    for source, paths in files.items():
        publish_day(store, source, day, paths, origin="demo")


@pytest.fixture(scope="session")
def demo_days(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    return demo_raw_files(DAY, tmp_path_factory.mktemp("demo"))


@pytest.fixture
def store(tmp_path: Path, demo_days) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "objects")
    publish_demo(store, demo_days, DAY)
    return store


@pytest.fixture
def resources(tmp_path: Path, store: LocalObjectStore) -> dict:
    return {
        "object_store": ObjectStoreResource(local_dir=str(store.root)),
        "warehouse": WarehouseResource(kind="duckdb", duckdb_path=str(tmp_path / "warehouse.duckdb")),
    }


def run_import(resources: dict, day: str = DAY, raise_on_error: bool = True, **config) -> dg.ExecuteInProcessResult:
    config.setdefault("max_invalid_share", 1.0)
    return dg.materialize(
        [imported_events],
        resources=resources,
        partition_key=day,
        raise_on_error=raise_on_error,
        run_config={"ops": {"imported_events": {"config": config}}},
    )


def run_dwh(resources: dict, day: str = DAY, first_day: str | None = None) -> dg.ExecuteInProcessResult:
    """The DWH load of ``day``, or of the days ``first_day``..``day`` in one run."""
    days = (
        {"partition_key": day}
        if first_day is None
        else {"tags": {"dagster/asset_partition_range_start": first_day, "dagster/asset_partition_range_end": day}}
    )
    result = dg.materialize(
        [dwh_tables],
        resources=resources,
        **days,
        run_config={"ops": {"dwh_tables": {"config": {"max_quarantine_share": 1.0}}}},
    )
    assert result.success
    return result
