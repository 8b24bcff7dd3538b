"""Seeded random byte corruptions of a valid raw day: the ETL never crashes and never loads a changed value uncounted.

Two kinds of damage, a few seeds each (bounded, so the test stays well under a minute):

* stored: bytes of a published gzip change afterwards (disk, copy), the manifest still describing the original;
* sent: bytes of the JSON itself change and the day is published as is (what a faulty source would send).

After each load (on DuckDB, with no share limit, so every run must succeed) every record read is accounted for
(loaded, quarantined, a conflicting version or a duplicate), and every event whose raw line is byte-identical to
the clean day's loads exactly the values the clean day loads (unless a corrupted line now claims its uuid with
other content, which is counted as a conflict). No loaded text holds U+FFFD: invalid UTF-8 is never rewritten.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
from pathlib import Path

import pytest

from analytics_dagster import demo
from analytics_dagster.lib.dwh.etl import LoadSettings, load_day
from analytics_dagster.lib.dwh.mappings import load_field_mappings
from analytics_dagster.lib.dwh.quarantine import CONFLICT_REASON, quarantine_prefix
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import day_prefix, extract_export_zip, publish_day, read_manifest
from analytics_dagster.lib.warehouse import DuckDBWarehouse

DAY = "2025-07-01"
EVENTS = 120
SEEDS = range(4)
ROW_SQL = (
    "SELECT e.*, t.* EXCLUDE (uuid, source, partition_date, event_time) FROM events_part e "
    "JOIN technical_data t USING (uuid)"
)


@pytest.fixture(scope="module")
def clean_day(tmp_path_factory) -> tuple[Path, dict[str, tuple]]:
    """A demo raw day published once, and the rows its clean load gives, by uuid."""
    root = tmp_path_factory.mktemp("fuzz")
    demo.write_amplitude_export_zip(DAY, root / "export.zip", events_per_day=EVENTS)
    files = extract_export_zip(root / "export.zip", root / "amplitude")
    store = LocalObjectStore(root / "objects")
    publish_day(store, "amplitude", DAY, files[:6], origin="demo")
    (root / "appmetrica").mkdir()
    summary = demo.write_appmetrica_events_json(
        DAY, root / "appmetrica" / "events.json.gz", events_per_day=EVENTS, gzip_output=True
    )
    publish_day(
        store,
        "appmetrica",
        DAY,
        [root / "appmetrica" / "events.json.gz"],
        origin="demo",
        details={"records": {"events": summary.events}},
    )  # as the ingest records it
    warehouse = DuckDBWarehouse(root / "clean.duckdb")
    load_day(store, warehouse, DAY, load_field_mappings(), LoadSettings(max_quarantine_share=1.0))
    return root / "objects", _rows_by_uuid(warehouse)


def _rows_by_uuid(warehouse: DuckDBWarehouse) -> dict[str, tuple]:
    frame = warehouse.query_df(ROW_SQL).astype(str)
    return {row[0]: tuple(row) for row in frame.itertuples(index=False)}


def _flip(data: bytes, rng: random.Random, avoid: bytes = b"") -> bytes:
    damaged = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        position = rng.randrange(len(damaged))
        value = rng.choice(
            [0x00, 0xFF, 0xC3, 0x22, 0x7B, 0x5D, 0x2C, 0x5C, 0x30 + rng.randrange(10), rng.randrange(256)]
        )
        if value not in avoid:
            damaged[position] = value
    return bytes(damaged)


def _load(store: LocalObjectStore, tmp_path: Path):
    warehouse = DuckDBWarehouse(tmp_path / "fuzz.duckdb")
    result = load_day(store, warehouse, DAY, load_field_mappings(), LoadSettings(max_quarantine_share=1.0))
    for source in result.sources.values():
        assert source.records == (
            source.loaded
            + source.quarantined
            + source.conflicting_versions
            + source.duplicates_in_day
            + source.duplicates_of_earlier_days
        ), source
    return warehouse, result


def _quarantined(store: LocalObjectStore) -> list[dict]:
    key = f"{quarantine_prefix(DAY)}/records.jsonl.gz"
    if not store.exists(key):
        return []
    return [json.loads(line) for line in gzip.decompress(store.get_bytes(key)).splitlines()]


def _copy(objects: Path, tmp_path: Path) -> LocalObjectStore:
    shutil.copytree(objects, tmp_path / "objects")
    return LocalObjectStore(tmp_path / "objects")


@pytest.mark.parametrize("seed", SEEDS)
def test_damaged_stored_bytes_load_nothing_changed(clean_day, tmp_path, seed):
    objects, clean = clean_day
    store = _copy(objects, tmp_path)
    rng = random.Random(seed)
    source = rng.choice(["amplitude", "appmetrica"])
    name = rng.choice(read_manifest(store, source, DAY).files).name
    path = store.local_path(f"{day_prefix(source, DAY)}/{name}")
    path.write_bytes(_flip(path.read_bytes(), rng))
    warehouse, result = _load(store, tmp_path)
    loaded = _rows_by_uuid(warehouse)
    assert all(clean.get(uuid) == row for uuid, row in loaded.items())  # nothing changed, nothing invented
    assert len(loaded) + result.quarantine.total == len(clean)  # every lost event is counted


@pytest.mark.parametrize("seed", SEEDS)
def test_corrupted_json_never_crashes_or_changes_a_value_silently(clean_day, tmp_path, seed):
    objects, clean = clean_day
    store = _copy(objects, tmp_path)
    rng = random.Random(1000 + seed)
    source = rng.choice(["amplitude", "appmetrica"])
    entry = rng.choice(read_manifest(store, source, DAY).files)
    key = f"{day_prefix(source, DAY)}/{entry.name}"
    original = gzip.decompress(store.get_bytes(key))
    corrupted = _flip(original, rng, avoid=b"\n")  # same lines, some of them changed
    rewritten = tmp_path / "sent" / entry.name
    rewritten.parent.mkdir()
    rewritten.write_bytes(gzip.compress(corrupted))
    others = [f for f in read_manifest(store, source, DAY).files if f.name != entry.name]
    kept = tmp_path / "kept"
    kept.mkdir()
    for other in others:
        (kept / other.name).write_bytes(store.get_bytes(f"{day_prefix(source, DAY)}/{other.name}"))
    publish_day(
        store,
        source,
        DAY,
        [rewritten, *(kept / f.name for f in others)],
        origin="demo",
        details=read_manifest(store, source, DAY).details,
    )

    warehouse, result = _load(store, tmp_path)  # never raises
    loaded = _rows_by_uuid(warehouse)
    assert not any("\ufffd" in value for row in loaded.values() for value in row)
    if source != "amplitude":
        return  # AppMetrica uuids hash the record's content: a changed element is a new event, not a changed one
    conflicted = {
        json.loads(e["raw"]).get("uuid")
        for e in _quarantined(store)
        if e["reason"].startswith(CONFLICT_REASON) and e["raw"]
    }
    unchanged = {
        json.loads(line)["uuid"]
        for line, before in zip(corrupted.split(b"\n"), original.split(b"\n"), strict=True)
        if line == before and line.strip()
    }
    for uuid in unchanged - conflicted:
        assert loaded.get(uuid) == clean[uuid], uuid
