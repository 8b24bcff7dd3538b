"""The import of a day against the warehouse, on DuckDB and PostgreSQL: event ids already stored are found where
they are, and an event id is never loaded twice across days (without Dagster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics_dagster.lib.dwh.etl import LoadSettings, load_day
from analytics_dagster.lib.dwh.mappings import load_field_mappings
from analytics_dagster.lib.imports.day import import_day
from analytics_dagster.lib.imports.landing import landing_day_prefix
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse
from analytics_dagster_tests.imports.conftest import CSV_KEY, DAY, SEEDED_VALID, T0, drop_file, drop_seeded_day

NEXT_DAY = "2026-03-11"
CSV_EVENTS = 4  # unique valid event ids of the seeded CSV alone: ok-1, ok-2, ok-3, ok-7


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> Warehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    return PostgresWarehouse(request.getfixturevalue("postgres_dsn"))


def imports(store: LocalObjectStore, warehouse: Warehouse, day: str, tmp_path: Path, *, dry_run: bool):
    workdir = tmp_path / f"work-{day}-{dry_run}"
    workdir.mkdir(exist_ok=True)
    result, _ = import_day(store, warehouse, day, dry_run=dry_run, max_invalid_share=1.0, workdir=workdir)
    return result


def test_event_ids_already_stored_are_reported_and_never_loaded_twice(store, warehouse, tmp_path):
    mappings = load_field_mappings()
    settings = LoadSettings(max_quarantine_share=1.0)
    drop_seeded_day(store)
    assert imports(store, warehouse, DAY, tmp_path, dry_run=False).stored.this_day == 0
    load_day(store, warehouse, DAY, mappings, settings)

    again = imports(store, warehouse, DAY, tmp_path, dry_run=True)
    assert (again.stored.this_day, again.stored.earlier_days, again.would_load) == (
        len(SEEDED_VALID),
        0,
        len(SEEDED_VALID),
    )

    drop_file(store, f"{landing_day_prefix(NEXT_DAY)}events.csv", store.get_bytes(CSV_KEY), T0)
    next_day = imports(store, warehouse, NEXT_DAY, tmp_path, dry_run=False)
    assert (next_day.stored.earlier_days, next_day.would_load) == (CSV_EVENTS, 0)
    loaded = load_day(store, warehouse, NEXT_DAY, mappings, settings)
    assert loaded.sources["import"].duplicates_of_earlier_days == CSV_EVENTS
    assert loaded.sources["import"].loaded == 0
    stored = warehouse.query_df(
        "SELECT CAST(partition_date AS VARCHAR) AS day, count(*) AS n FROM events_part "
        "WHERE source = 'import' GROUP BY partition_date"
    )
    assert stored.values.tolist() == [[DAY, len(SEEDED_VALID)]]
