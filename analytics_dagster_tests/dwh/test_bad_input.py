"""Bad input, table-driven, through ingest verification and the DWH on DuckDB and PostgreSQL.

Each case is one raw record (an Amplitude line or an AppMetrica element) placed among good records, or one whole raw
file, with what must become of it: quarantined with its file, line and reason; loaded with a field as NULL, the raw
text kept in technical_data.invalid_fields and counted; or loaded intact. Good records always load, the run fails
only above the configured share, and both warehouses end up holding identical rows.
"""

from __future__ import annotations

import base64
import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics_dagster.lib.dwh.etl import DayLoadResult, LoadSettings, load_day
from analytics_dagster.lib.dwh.quarantine import QuarantineLimitExceeded, quarantine_prefix
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import day_prefix, publish_day, read_manifest
from analytics_dagster.lib.warehouse import DuckDBWarehouse, PostgresWarehouse
from analytics_dagster_tests.dwh.conftest import amplitude_record, appmetrica_record, table_state

DAY = "2025-07-01"
GOOD_AMPLITUDE = 60
GOOD_APPMETRICA = 40
BLOB = "x" * (5 << 20)  # a 5 MB property


def amp_uuid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def amp(n: int, **fields) -> bytes:
    return json.dumps(amplitude_record(amp_uuid(n), **fields)).encode()


def amp_raw(n: int, properties: str) -> bytes:
    """An Amplitude line whose event_properties are given as raw JSON text (NaN, Infinity, huge numbers)."""
    line = json.dumps(amplitude_record(amp_uuid(n), event_properties="@"))
    return line.replace('"@"', properties).encode()


def mob(**fields) -> bytes:
    return json.dumps(appmetrica_record(**fields)).encode()


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    raw: bytes  # the record as it is in the raw file
    outcome: str  # 'quarantined', 'null_field', 'loaded', 'duplicate'
    detail: str = ""  # quarantined: reason prefix; null_field: '<column>: <reason>'


CASES = [
    Case("NUL in a text field", "amplitude", amp(101, city="Mos\u0000cow"), "quarantined", "NUL character in city"),
    Case(
        "NUL in a property",
        "amplitude",
        amp(102, event_properties={"q": "a\u0000b"}),
        "quarantined",
        "NUL character in event_properties",
    ),
    Case(
        "NaN property",
        "amplitude",
        amp_raw(103, '{"price": NaN}'),
        "quarantined",
        "non-finite number in event_properties",
    ),
    Case(
        "-Infinity property",
        "amplitude",
        amp_raw(104, '{"price": -Infinity}'),
        "quarantined",
        "non-finite number in event_properties",
    ),
    Case(
        "number overflowing a double",
        "amplitude",
        amp_raw(105, '{"price": 1e400}'),
        "quarantined",
        "non-finite number in event_properties",
    ),
    Case(
        "integer beyond uint64 in a property",
        "amplitude",
        amp_raw(106, '{"n": 18446744073709551616}'),
        "quarantined",
        "integer beyond int64/uint64 in event_properties",
    ),
    Case("invalid UTF-8", "amplitude", amp(107, city="@").replace(b"@", b"\xff\xfe"), "quarantined", "invalid UTF-8"),
    Case("truncated JSON", "amplitude", amp(108)[:-25], "quarantined", "malformed JSON"),
    Case("a JSON value that is not an object", "amplitude", b"42", "quarantined", "JSON value is not an object"),
    Case("session_id 'abc'", "amplitude", amp(109, session_id="abc"), "null_field", "session_id: not an integer"),
    Case("amplitude_id 'x'", "amplitude", amp(110, amplitude_id="x"), "null_field", "amplitude_id: not an integer"),
    Case("event_id 12.5 (would round)", "amplitude", amp(111, event_id=12.5), "null_field", "event_id: not an integer"),
    Case(
        "amplitude_id beyond int64",
        "amplitude",
        amp(112, amplitude_id=9223372036854775808),
        "null_field",
        "amplitude_id: integer out of range",
    ),
    Case(
        "location_lat NaN", "amplitude", amp(113, location_lat="NaN"), "null_field", "location_lat: not a finite number"
    ),
    Case(
        "client_upload_time not a time",
        "amplitude",
        amp(114, client_upload_time="yesterday"),
        "null_field",
        "client_upload_time: not a timestamp",
    ),
    Case("a 5 MB property", "amplitude", amp(115, event_properties={"blob": BLOB}), "loaded"),
    Case("both advertising ids", "amplitude", amp(116, adid="gaid-1", idfa="IDFA-1"), "loaded"),
    Case(
        "same uuid, other content",
        "amplitude",
        amp(1, event_type="Zz Other Event"),
        "quarantined",
        "same uuid, different content",
    ),
    Case("exact duplicate", "amplitude", amp(2), "duplicate"),
    Case("element 42 in data", "appmetrica", b"42", "quarantined", "JSON value is not an object"),
    Case(
        "NUL in event_json",
        "appmetrica",
        mob(event_name="nul", event_json='{"q": "a\\u0000"}'),
        "quarantined",
        "NUL character in event_properties",
    ),
    Case(
        "NaN in event_json",
        "appmetrica",
        mob(event_name="nan", event_json='{"price": NaN}'),
        "quarantined",
        "non-finite number in event_properties",
    ),
    Case(
        "integer beyond uint64 in event_json",
        "appmetrica",
        mob(event_name="big", event_json='{"n": 18446744073709551616 }'),
        "quarantined",
        "integer beyond int64/uint64 in event_properties",
    ),
    Case(
        "device id beyond uint64",
        "appmetrica",
        mob(appmetrica_device_id="18446744073709551616"),
        "quarantined",
        "appmetrica_device_id is not a uint64",
    ),
    Case(
        "invalid UTF-8 element",
        "appmetrica",
        mob(event_name="@").replace(b"@", b"\xc3\x28"),
        "quarantined",
        "invalid UTF-8",
    ),
    Case(
        "session_id 'abc'",
        "appmetrica",
        mob(event_name="abc", session_id="abc"),
        "null_field",
        "session_id: not an integer",
    ),
    Case("both advertising ids", "appmetrica", mob(event_name="ads", google_aid="g-1", ios_ifa="I-1"), "loaded"),
]
AMPLITUDE_FILE = f"{day_prefix('amplitude', DAY)}/mixed.json.gz"
DAMAGED_FILE = f"{day_prefix('amplitude', DAY)}/damaged.json.gz"
APPMETRICA_FILE = f"{day_prefix('appmetrica', DAY)}/events.json.gz"
DAMAGED_LINES = 30


@dataclass
class BadDay:
    store: LocalObjectStore
    lines: dict[str, int]  # case name + source -> line (Amplitude) / position in data (AppMetrica)


def case_key(case: Case) -> str:
    return f"{case.source}: {case.name}"


def build_bad_day(root: Path) -> BadDay:
    """Publishes the day through the ingest's own verification (publish_day checks every gzip and writes the
    manifest), then damages one stored file the way a broken disk or copy would."""
    store = LocalObjectStore(root / "objects")
    positions: dict[str, int] = {}
    amplitude_lines = [amp(n) for n in range(1, GOOD_AMPLITUDE + 1)]
    appmetrica_elements = [mob(event_name=f"good-{n}") for n in range(GOOD_APPMETRICA)]
    for index, case in enumerate(CASES):
        target = amplitude_lines if case.source == "amplitude" else appmetrica_elements
        at = 3 + index * 2 if index * 2 < len(target) else len(target)  # spread among the good records
        target.insert(at, case.raw)
    for case in CASES:
        target = amplitude_lines if case.source == "amplitude" else appmetrica_elements
        positions[case_key(case)] = target.index(case.raw) + 1
    folder = root / "raw"
    folder.mkdir()
    (folder / "mixed.json.gz").write_bytes(gzip.compress(b"\n".join(amplitude_lines) + b"\n"))
    (folder / "empty.json.gz").write_bytes(gzip.compress(b""))
    damaged = [amp(n, event_type="Damaged File") for n in range(500, 500 + DAMAGED_LINES)]
    (folder / "damaged.json.gz").write_bytes(gzip.compress(b"\n".join(damaged) + b"\n"))
    publish_day(
        store,
        "amplitude",
        DAY,
        [folder / name for name in ("mixed.json.gz", "empty.json.gz", "damaged.json.gz")],
        origin="test",
    )
    stored = store.local_path(DAMAGED_FILE)
    data = bytearray(stored.read_bytes())
    data[len(data) // 2] ^= 0x01  # one flipped bit: gzip may still inflate, into changed values
    stored.write_bytes(bytes(data))
    body = b'{"data": [' + b", ".join(appmetrica_elements) + b"]}"
    (folder / "events.json.gz").write_bytes(gzip.compress(body))
    publish_day(store, "appmetrica", DAY, [folder / "events.json.gz"], origin="test")
    return BadDay(store, positions)


@pytest.fixture
def bad_day(tmp_path) -> BadDay:
    return build_bad_day(tmp_path)


def load(bad_day: BadDay, warehouse, max_share: float = 0.5) -> DayLoadResult:
    from analytics_dagster.lib.dwh.mappings import load_field_mappings

    return load_day(bad_day.store, warehouse, DAY, load_field_mappings(), LoadSettings(max_quarantine_share=max_share))


def quarantine_entries(store: LocalObjectStore) -> list[dict]:
    data = gzip.decompress(store.get_bytes(f"{quarantine_prefix(DAY)}/records.jsonl.gz"))
    return [json.loads(line) for line in data.splitlines()]


def test_each_bad_input_is_quarantined_or_counted_with_file_and_line(bad_day, warehouse):
    result = load(bad_day, warehouse)
    entries = quarantine_entries(bad_day.store)
    by_place = {(e["file"], e["line"]): e for e in entries}
    expected_events = GOOD_AMPLITUDE + GOOD_APPMETRICA
    for case in CASES:
        where = (AMPLITUDE_FILE if case.source == "amplitude" else APPMETRICA_FILE, bad_day.lines[case_key(case)])
        if case.outcome == "quarantined":
            entry = by_place.get(where)
            assert entry is not None, f"{case_key(case)}: no quarantine entry at {where}"
            assert entry["reason"].startswith(case.detail), (case_key(case), entry["reason"])
            assert entry["partition"] == DAY and entry["source"] == case.source
            if case.detail == "invalid UTF-8":  # the original bytes, never rewritten
                assert base64.b64decode(entry["raw_base64"]) == case.raw and entry["raw"] is None
            elif case.raw.isascii():
                assert entry["raw"].encode() == case.raw
        else:
            assert where not in by_place, f"{case_key(case)}: quarantined ({by_place.get(where)})"
            expected_events += case.outcome != "duplicate"
        if case.outcome == "null_field":
            assert result.quarantine.field_problems.get(f"{case.source} {case.detail}") == 1, case_key(case)
    # the damaged file: every one of its lines is counted, none loaded (any value in it may have changed)
    damaged = sorted(e["line"] for e in entries if e["file"] == DAMAGED_FILE)
    assert damaged == list(range(1, DAMAGED_LINES + 1))
    assert all(
        e["reason"].startswith("raw file damaged: its sha256 differs") for e in entries if e["file"] == DAMAGED_FILE
    )
    assert warehouse.query_df("SELECT count(*) AS n FROM events_part WHERE event_type = 'Damaged File'")["n"][0] == 0

    assert result.events == expected_events == warehouse.row_count("events_part")
    amplitude, appmetrica = result.sources["amplitude"], result.sources["appmetrica"]
    assert amplitude.duplicates_in_day == 1 and amplitude.conflicting_versions == 1
    assert amplitude.repaired == 6 and appmetrica.repaired == 1
    assert amplitude.records == amplitude.loaded + amplitude.quarantined + amplitude.conflicting_versions + 1
    assert appmetrica.records == appmetrica.loaded + appmetrica.quarantined

    # fields loaded as NULL keep their raw text; the big blob and both advertising ids arrive whole
    stored = warehouse.query_df(
        "SELECT e.session_id, CAST(t.invalid_fields AS VARCHAR) AS invalid FROM events_part e "
        f"JOIN technical_data t USING (uuid) WHERE e.uuid = '{amp_uuid(109)}'"
    )
    assert stored["session_id"].isna().all() and json.loads(stored["invalid"][0]) == {"session_id": "abc"}
    blob = warehouse.query_df(
        "SELECT length(CAST(event_properties AS VARCHAR)) AS n FROM tmp_event_properties "
        f"WHERE uuid = '{amp_uuid(115)}'"
    )
    assert blob["n"][0] >= len(BLOB)
    ads = warehouse.query_df(
        "SELECT source, google_advertising_id AS g, apple_advertising_id AS a FROM technical_data "
        "WHERE google_advertising_id IS NOT NULL AND apple_advertising_id IS NOT NULL "
        "ORDER BY source"
    )
    assert ads.values.tolist() == [["amplitude", "gaid-1", "IDFA-1"], ["appmetrica", "g-1", "I-1"]]


def test_the_run_fails_only_above_the_configured_share(bad_day, warehouse):
    with pytest.raises(QuarantineLimitExceeded) as raised:
        load(bad_day, warehouse, max_share=0.05)
    report = raised.value.report
    assert "Nothing was written" in str(raised.value) and DAMAGED_FILE in report.files
    share = max(report.share(source) for source in report.records)
    assert warehouse.row_count("events_part") == 0  # the failed run wrote nothing
    with pytest.raises(QuarantineLimitExceeded):
        load(bad_day, warehouse, max_share=share - 0.001)
    result = load(bad_day, warehouse, max_share=share)  # the limit itself is allowed
    assert result.events == warehouse.row_count("events_part") > 0


def test_duckdb_and_postgres_hold_identical_rows(bad_day, tmp_path, postgres_dsn):
    duckdb_warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb")
    postgres_warehouse = PostgresWarehouse(postgres_dsn)
    load(bad_day, duckdb_warehouse)
    load(bad_day, postgres_warehouse)
    duckdb_rows, postgres_rows = table_state(duckdb_warehouse), table_state(postgres_warehouse)
    for table in duckdb_rows:
        assert duckdb_rows[table] == postgres_rows[table], table
    assert len(duckdb_rows["events_part"]) > GOOD_AMPLITUDE + GOOD_APPMETRICA


def test_the_manifest_counts_what_ingest_verified(bad_day):
    manifest = read_manifest(bad_day.store, "amplitude", DAY)
    assert {f.name: f.lines for f in manifest.files}["empty.json.gz"] == 0
