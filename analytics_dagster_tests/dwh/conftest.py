"""Fixtures of the DWH tests: demo raw days, hand-made raw files, warehouses, and a snapshot of all tables."""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from analytics_dagster import demo
from analytics_dagster.lib.dwh.etl import DayLoadResult, LoadSettings, load_day
from analytics_dagster.lib.dwh.mappings import FieldMappings, load_field_mappings
from analytics_dagster.lib.dwh.tables import DWH_TABLES, column_names
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import extract_export_zip, publish_day
from analytics_dagster.lib.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse

DAYS = ("2025-07-01", "2025-07-02", "2025-07-03")
DEMO_EVENTS_PER_DAY = 250


@pytest.fixture(scope="session")
def demo_raw_files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[Path]]:
    """Demo raw files of both sources for DAYS, generated once per session."""
    root = tmp_path_factory.mktemp("demo-raw")
    files = {}
    for day in DAYS:
        zip_path = root / f"amplitude-{day}.zip"
        demo.write_amplitude_export_zip(day, zip_path, events_per_day=DEMO_EVENTS_PER_DAY)
        files[("amplitude", day)] = extract_export_zip(zip_path, root / f"amplitude-{day}")
        appmetrica = root / f"appmetrica-{day}" / "events.json.gz"
        appmetrica.parent.mkdir()
        demo.write_appmetrica_events_json(day, appmetrica, events_per_day=DEMO_EVENTS_PER_DAY, gzip_output=True)
        files[("appmetrica", day)] = [appmetrica]
    return files


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


@pytest.fixture
def publish_demo(store: LocalObjectStore, demo_raw_files):
    def publish(days: Iterable[str] = DAYS, sources: Iterable[str] = ("amplitude", "appmetrica")) -> None:
        for day in days:
            for source in sources:
                publish_day(store, source, day, demo_raw_files[(source, day)], origin="demo")

    return publish


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    return PostgresWarehouse(request.getfixturevalue("postgres_dsn"))


@pytest.fixture(scope="session")
def mappings() -> FieldMappings:
    return load_field_mappings()


@pytest.fixture
def load(store: LocalObjectStore, warehouse: Warehouse, mappings: FieldMappings):
    def run(day: str, **settings: Any) -> DayLoadResult:
        return load_day(store, warehouse, day, mappings, LoadSettings(**settings))

    return run


def table_state(warehouse: Warehouse) -> dict[str, list[tuple[str, ...]]]:
    """Every row of the eight tables as sorted text tuples (cast to text in SQL, JSON normalised), to compare
    whole warehouses."""
    state = {}
    for table in DWH_TABLES:
        columns = ", ".join(f'CAST("{name}" AS VARCHAR) AS "{name}"' for name in column_names(table))
        frame = warehouse.query_df(f"SELECT {columns} FROM {table}")
        rows = [tuple(_text(value) for value in row) for row in frame.itertuples(index=False)]
        state[table] = sorted(rows)
    return state


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "NULL"
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.dumps(json.loads(value), sort_keys=True)
        except ValueError:
            return value
    return str(value)


def amplitude_record(uuid: str, **fields: Any) -> dict[str, Any]:
    """A minimal Amplitude export record; ``fields`` override or add fields."""
    record = {
        "uuid": uuid,
        "event_type": "Page Viewed",
        "event_time": "2025-07-01 10:00:00.000000",
        "client_event_time": "2025-07-01 10:00:00.000000",
        "server_upload_time": "2025-07-01 10:00:01.000000",
        "user_id": "user-1",
        "device_id": "device-1",
        "platform": "Web",
        "country": "Russia",
        "city": "Moscow",
        "event_properties": {"page_path": "/"},
        "user_properties": {"plan": "free", "city": "Moscow"},
    }
    record.update(fields)
    return record


def write_gzip_lines(path: Path, lines: Iterable[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        for line in lines:
            handle.write(line + "\n")
    return path


def publish_amplitude(store: LocalObjectStore, day: str, files: dict[str, list[str]], workdir: Path) -> None:
    """Publishes hand-made Amplitude files ({name: lines}) as the raw Amplitude day."""
    folder = workdir / f"amplitude-{day}"
    shutil.rmtree(folder, ignore_errors=True)
    paths = [write_gzip_lines(folder / name, lines) for name, lines in files.items()]
    publish_day(store, "amplitude", day, paths, origin="test")


def publish_appmetrica(store: LocalObjectStore, day: str, records: list[dict[str, str]], workdir: Path) -> None:
    path = workdir / f"appmetrica-{day}" / "events.json.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        handle.write(json.dumps({"data": records}))
    publish_day(store, "appmetrica", day, [path], origin="test")


def appmetrica_record(**fields: str) -> dict[str, str]:
    record = {
        "event_name": "screen_view",
        "event_json": '{"screen":"home"}',
        "event_timestamp": "1751364000",
        "event_receive_timestamp": "1751364060",
        "appmetrica_device_id": "18446744073709551615",
        "installation_id": "inst-1",
        "profile_id": "",
        "session_id": "10000000001",
        "os_name": "android",
        "os_version": "14",
        "device_manufacturer": "Xiaomi",
        "device_model": "Redmi Note 12",
        "device_type": "phone",
        "device_locale": "ru_RU",
        "app_version_name": "8.1.0",
        "app_package_name": "com.example.shop",
        "city": "Moscow",
        "country_iso_code": "RU",
        "connection_type": "wifi",
        "operator_name": "MTS",
        "mcc": "250",
        "mnc": "1",
        "google_aid": "",
        "ios_ifa": "",
        "application_id": "4000001",
    }
    record.update(fields)
    return record
