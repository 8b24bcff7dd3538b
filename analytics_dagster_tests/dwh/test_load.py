"""The DWH load on DuckDB and PostgreSQL: idempotency, one row per uuid, quarantine, crash safety, mappings."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pytest

from analytics_dagster.lib.dwh import targets
from analytics_dagster.lib.dwh.quarantine import QuarantineLimitExceeded, quarantine_prefix
from analytics_dagster.lib.dwh.tables import DWH_TABLES
from analytics_dagster_tests.dwh.conftest import (
    DAYS,
    amplitude_record,
    appmetrica_record,
    publish_amplitude,
    publish_appmetrica,
    table_state,
)


def lines(*records: dict) -> list[str]:
    return [json.dumps(record) for record in records]


def rows(warehouse, sql: str) -> list[tuple]:
    frame = warehouse.query_df(sql).astype(object)
    return [tuple(None if pd.isna(v) else v for v in row) for row in frame.itertuples(index=False)]


def drop_tables(warehouse) -> None:
    for table in DWH_TABLES:
        warehouse.execute(f"DROP TABLE IF EXISTS {table}")


def test_demo_day_fills_all_eight_tables(publish_demo, load, warehouse):
    publish_demo(days=DAYS[:1])
    result = load(DAYS[0])
    counts = {table: warehouse.row_count(table) for table in DWH_TABLES}
    assert all(counts[table] > 0 for table in DWH_TABLES), counts
    amplitude, appmetrica = result.sources["amplitude"], result.sources["appmetrica"]
    assert amplitude.records == amplitude.loaded + amplitude.duplicates_in_day
    assert counts["events_part"] == amplitude.loaded + appmetrica.loaded == result.events
    by_source = dict(rows(warehouse, "SELECT source, count(*) FROM events_part GROUP BY source"))
    assert by_source == {"amplitude": amplitude.loaded, "appmetrica": appmetrica.loaded}
    # AppMetrica's uint64 device ids stay exact text; mobile devices come from the mobile events.
    device_ids = [r[0] for r in rows(warehouse, "SELECT device_id FROM mobile_devices WHERE source = 'appmetrica'")]
    assert device_ids and all(d.isdigit() for d in device_ids)
    assert result.is_demo


def test_rerunning_a_partition_leaves_identical_tables(publish_demo, load, warehouse):
    publish_demo(days=DAYS[:2])
    load(DAYS[0])
    load(DAYS[1])
    before = table_state(warehouse)
    load(DAYS[0])
    assert table_state(warehouse) == before
    load(DAYS[1])
    assert table_state(warehouse) == before


def test_backfill_twice_and_in_reverse_order_gives_identical_tables(publish_demo, load, warehouse):
    publish_demo()
    for day in DAYS:
        load(day)
    first = table_state(warehouse)
    for day in DAYS:
        load(day)
    assert table_state(warehouse) == first
    drop_tables(warehouse)
    for day in reversed(DAYS):
        load(day)
    assert table_state(warehouse) == first


def test_an_event_belongs_to_the_earliest_partition_it_was_uploaded_in(store, load, warehouse, tmp_path):
    shared = amplitude_record(
        "00000000-0000-4000-8000-00000000000b", device_id="d-shared", user_id=None, platform="iOS"
    )
    publish_amplitude(
        store, DAYS[0], {"a.json.gz": lines(amplitude_record("00000000-0000-4000-8000-00000000000a"), shared)}, tmp_path
    )
    publish_amplitude(
        store,
        DAYS[1],
        {
            "b.json.gz": lines(
                shared,
                amplitude_record(
                    "00000000-0000-4000-8000-00000000000c", server_upload_time="2025-07-02 10:00:00.000000"
                ),
            )
        },
        tmp_path,
    )

    later_first = load(DAYS[1])
    assert later_first.events == 2
    earlier = load(DAYS[0])
    assert earlier.taken_over == 1
    placement = dict(rows(warehouse, "SELECT uuid, CAST(partition_date AS VARCHAR) FROM events_part"))
    assert placement == {
        "00000000-0000-4000-8000-00000000000a": DAYS[0],
        "00000000-0000-4000-8000-00000000000b": DAYS[0],
        "00000000-0000-4000-8000-00000000000c": DAYS[1],
    }
    for table in ("technical_data", "tmp_event_properties", "tmp_user_properties"):
        assert warehouse.row_count(table) == 3
    # the later day's per-partition tables no longer count the event it lost
    devices = rows(warehouse, "SELECT CAST(partition_date AS VARCHAR), device_id FROM mobile_devices")
    assert devices == [(DAYS[0], "d-shared")]
    rerun = load(DAYS[1])
    assert rerun.sources["amplitude"].duplicates_of_earlier_days == 1
    state = table_state(warehouse)

    drop_tables(warehouse)
    load(DAYS[0])
    load(DAYS[1])
    assert table_state(warehouse) == state


def test_malformed_lines_are_quarantined_with_file_and_line(store, load, warehouse, tmp_path):
    good = [amplitude_record(f"00000000-0000-4000-8000-{i:012d}") for i in range(198)]
    raw = lines(*good[:50]) + ['{"uuid": "00000000-0000-4000-8000-00000000dead", "event_type": '] + lines(*good[50:])
    raw.insert(100, "")  # a blank line is not a record, but it counts for line numbers
    raw.append(json.dumps(amplitude_record("00000000-0000-4000-8000-00000000beef", event_time="yesterday")))
    publish_amplitude(store, DAYS[0], {"h1.json.gz": raw}, tmp_path)

    result = load(DAYS[0], max_quarantine_share=0.02)

    assert result.events == 198
    assert result.quarantine.quarantined == {"amplitude": 2}
    assert result.quarantine.files == {f"raw/amplitude/{DAYS[0]}/h1.json.gz": 2}
    assert result.quarantine.reasons == {"event_time is not a timestamp": 1, "malformed JSON": 1}
    quarantined = [
        json.loads(line)
        for line in gzip.decompress(store.get_bytes(f"{quarantine_prefix(DAYS[0])}/records.jsonl.gz"))
        .decode()
        .splitlines()
    ]
    assert [(q["file"], q["line"], q["reason"]) for q in quarantined] == [
        (f"raw/amplitude/{DAYS[0]}/h1.json.gz", 51, "malformed JSON"),
        (f"raw/amplitude/{DAYS[0]}/h1.json.gz", 201, "event_time is not a timestamp: yesterday"),
    ]
    assert quarantined[0]["raw"].startswith('{"uuid": "00000000-0000-4000-8000-00000000dead"')
    assert all(q["partition"] == DAYS[0] for q in quarantined)


def test_too_many_malformed_lines_fail_the_run_and_write_nothing(store, load, warehouse, tmp_path):
    good = [amplitude_record(f"00000000-0000-4000-8000-{i:012d}") for i in range(20)]
    publish_amplitude(store, DAYS[0], {"h1.json.gz": lines(*good)}, tmp_path)
    load(DAYS[0])
    before = table_state(warehouse)
    publish_amplitude(store, DAYS[0], {"h1.json.gz": lines(*good[:10]) + ["not json"] + lines(*good[10:])}, tmp_path)

    with pytest.raises(QuarantineLimitExceeded, match=r"h1\.json\.gz line 11: malformed JSON") as error:
        load(DAYS[0], max_quarantine_share=0.01)

    assert error.value.report.quarantined == {"amplitude": 1}
    assert table_state(warehouse) == before
    assert store.exists(f"{quarantine_prefix(DAYS[0])}/records.jsonl.gz")


def test_a_run_dying_midway_leaves_the_tables_as_they_were(publish_demo, load, warehouse, monkeypatch):
    publish_demo(days=DAYS[:2])
    load(DAYS[0])
    before = table_state(warehouse)
    written = []
    original = targets.write_rows

    def fail_after_three_tables(session, table_load):
        if len(written) == 3:
            raise RuntimeError("simulated crash while writing")
        original(session, table_load)
        written.append(table_load.table)

    monkeypatch.setattr(targets, "write_rows", fail_after_three_tables)
    with pytest.raises(RuntimeError, match="simulated crash"):
        load(DAYS[1])
    assert written == list(DWH_TABLES[:3])
    assert table_state(warehouse) == before
    with pytest.raises(RuntimeError, match="simulated crash"):
        load(DAYS[0])
    assert table_state(warehouse) == before


def test_both_timestamp_formats_and_offsets_parse(store, load, warehouse, tmp_path):
    publish_amplitude(
        store,
        DAYS[0],
        {
            "t.json.gz": lines(
                amplitude_record("00000000-0000-4000-8000-000000000001", event_time="2025-07-01 17:18:45.118000"),
                amplitude_record("00000000-0000-4000-8000-000000000002", event_time="2025-07-01T17:18:45.118Z"),
                amplitude_record("00000000-0000-4000-8000-000000000003", event_time="2025-07-01T20:18:45.118+03:00"),
            )
        },
        tmp_path,
    )
    load(DAYS[0])
    times = rows(warehouse, "SELECT DISTINCT CAST(event_time AS VARCHAR), CAST(event_date AS VARCHAR) FROM events_part")
    assert [(t[:23], d) for t, d in times] == [("2025-07-01 17:18:45.118", "2025-07-01")]


def test_unmapped_user_properties_stay_in_the_json_table(store, load, warehouse, tmp_path):
    bag = {"plan": "pro", "gender": "female", "favourite colour": "green", "[Experiment] x": "on"}
    publish_amplitude(
        store,
        DAYS[0],
        {"u.json.gz": lines(amplitude_record("00000000-0000-4000-8000-000000000001", user_properties=bag))},
        tmp_path,
    )
    result = load(DAYS[0])
    (stored,) = rows(
        warehouse, "SELECT user_properties, migrated, property_count, mapped_count FROM tmp_user_properties"
    )
    properties = stored[0] if isinstance(stored[0], dict) else json.loads(stored[0])
    assert properties == bag
    assert (bool(stored[1]), stored[2], stored[3]) == (False, 4, 2)
    assert rows(warehouse, "SELECT gender FROM permanent_user_properties") == [("female",)]
    assert rows(warehouse, "SELECT plan FROM changeable_user_properties") == [("pro",)]
    assert result.unmapped_keys == {"amplitude: [Experiment] x": 1, "amplitude: favourite colour": 1}


def test_changeable_history_keeps_changes_only_and_never_rewinds(store, load, warehouse, tmp_path):
    def event(n: int, day: str, time: str, plan: str) -> dict:
        return amplitude_record(
            f"00000000-0000-4000-8000-{n:012d}",
            event_time=f"{time}.000000",
            server_upload_time=f"{day} 23:00:00.000000",
            user_properties={"plan": plan, "city": "Moscow"},
        )

    publish_amplitude(
        store,
        DAYS[0],
        {
            "a.json.gz": lines(
                event(1, DAYS[0], "2025-07-01 09:00:00", "free"), event(2, DAYS[0], "2025-07-01 10:00:00", "free")
            )
        },
        tmp_path,
    )
    publish_amplitude(
        store,
        DAYS[1],
        {
            "b.json.gz": lines(
                event(3, DAYS[1], "2025-07-02 09:00:00", "free"), event(4, DAYS[1], "2025-07-02 12:00:00", "pro")
            )
        },
        tmp_path,
    )
    # a late upload of an old event with the old plan must not turn the history back
    publish_amplitude(
        store,
        DAYS[2],
        {
            "c.json.gz": lines(
                event(5, DAYS[2], "2025-07-01 11:00:00", "free"), event(6, DAYS[2], "2025-07-03 08:00:00", "team")
            )
        },
        tmp_path,
    )
    for day in DAYS:
        load(day)
    history = rows(
        warehouse,
        "SELECT CAST(valid_from AS VARCHAR), plan, CAST(partition_date AS VARCHAR) "
        "FROM changeable_user_properties ORDER BY valid_from",
    )
    assert [(t[:19], plan, p) for t, plan, p in history] == [
        ("2025-07-01 09:00:00", "free", DAYS[0]),
        ("2025-07-02 12:00:00", "pro", DAYS[1]),
        ("2025-07-03 08:00:00", "team", DAYS[2]),
    ]
    state = table_state(warehouse)
    drop_tables(warehouse)
    for day in (DAYS[2], DAYS[0], DAYS[1]):
        load(day)
    assert table_state(warehouse) == state


def test_permanent_properties_keep_first_or_latest_whatever_the_load_order(store, load, warehouse, tmp_path):
    def event(n: int, day: str, **fields) -> dict:
        return amplitude_record(
            f"00000000-0000-4000-8000-{n:012d}",
            event_time=f"{day} 10:00:00.000000",
            server_upload_time=f"{day} 10:00:01.000000",
            **fields,
        )

    publish_amplitude(
        store,
        DAYS[0],
        {
            "a.json.gz": lines(
                event(1, DAYS[0], platform="Web", user_properties={"gender": "male", "initial_utm_source": "google"})
            )
        },
        tmp_path,
    )
    publish_amplitude(
        store,
        DAYS[1],
        {
            "b.json.gz": lines(
                event(
                    2,
                    DAYS[1],
                    platform="iOS",
                    user_properties={"gender": "female", "initial_utm_source": "vk", "birth_year": 1990},
                )
            )
        },
        tmp_path,
    )
    load(DAYS[1])
    load(DAYS[0])
    expected = [("user-1", "Web", "female", "google", 1990)]
    sql = "SELECT user_key, first_platform, gender, initial_utm_source, birth_year FROM permanent_user_properties"
    assert rows(warehouse, sql) == expected

    # the second day's raw data is replaced without the user's event: its values are taken back
    publish_amplitude(
        store,
        DAYS[1],
        {
            "b.json.gz": lines(
                amplitude_record(
                    "00000000-0000-4000-8000-000000000009",
                    user_id="someone-else",
                    server_upload_time=f"{DAYS[1]} 10:00:01",
                )
            )
        },
        tmp_path,
    )
    result = load(DAYS[1])
    assert result.rebuilt_users == 1
    assert rows(warehouse, sql + " WHERE user_key = 'user-1'") == [("user-1", "Web", "male", "google", None)]


def test_a_day_missing_for_one_source_loads_the_other(publish_demo, load, warehouse):
    publish_demo(days=DAYS[:1], sources=("appmetrica",))
    result = load(DAYS[0])
    assert result.sources["amplitude"].missing
    assert result.sources["appmetrica"].loaded == result.events > 0
    assert rows(warehouse, "SELECT DISTINCT source FROM events_part") == [("appmetrica",)]


def test_appmetrica_records_keep_uint64_ids_and_get_stable_uuids(store, load, warehouse, tmp_path):
    same = appmetrica_record()
    publish_appmetrica(
        store,
        DAYS[0],
        [
            same,
            same,
            appmetrica_record(event_json="{broken"),
            appmetrica_record(event_name="purchase", event_json='{"revenue": 990}'),
        ],
        tmp_path,
    )
    result = load(DAYS[0], max_quarantine_share=0.5)
    assert result.events == 3
    assert [(q.line, q.reason) for q in result.quarantine.sample] == [(3, "event_json is not valid JSON")]
    stored = rows(
        warehouse,
        "SELECT uuid, device_id, revenue, platform, CAST(event_time AS VARCHAR) FROM events_part "
        "ORDER BY event_type, uuid",
    )
    assert {r[1] for r in stored} == {"18446744073709551615"}
    assert len({r[0] for r in stored}) == 3  # two identical records are two events
    assert {(r[2], r[3], r[4][:19]) for r in stored} == {
        (None, "Android", "2025-07-01 10:00:00"),
        (990.0, "Android", "2025-07-01 10:00:00"),
    }
    first_uuids = sorted(r[0] for r in stored)
    load(DAYS[0], max_quarantine_share=0.5)
    assert sorted(r[0] for r in rows(warehouse, "SELECT uuid FROM events_part")) == first_uuids


def test_a_broken_appmetrica_body_is_quarantined_from_the_break_on(store, load, warehouse, tmp_path):
    path = tmp_path / "appmetrica" / "events.json.gz"
    path.parent.mkdir()
    body = json.dumps({"data": [appmetrica_record(), appmetrica_record(event_name="b")]})[:-2]
    path.write_bytes(gzip.compress(body.encode() + b',{"event_name":]}'))
    from analytics_dagster.lib.raw_store import publish_day

    publish_day(store, "appmetrica", DAYS[0], [path], origin="test")
    result = load(DAYS[0], max_quarantine_share=0.5)
    assert result.events == 2
    assert [(q.file, q.line, q.reason) for q in result.quarantine.sample] == [
        (
            f"raw/appmetrica/{DAYS[0]}/events.json.gz",
            3,
            "brackets do not match: element 3; the rest of the body is unreadable",
        )
    ]


def test_a_warehouse_created_before_new_columns_gets_them_on_the_next_load(publish_demo, load, warehouse):
    publish_demo(days=DAYS[:1])
    load(DAYS[0])
    warehouse.execute("ALTER TABLE technical_data DROP COLUMN invalid_fields")
    warehouse.execute("ALTER TABLE technical_data DROP COLUMN google_advertising_id")
    result = load(DAYS[0])
    assert warehouse.row_count("technical_data", "google_advertising_id IS NOT NULL") > 0
    assert warehouse.row_count("technical_data") == result.events
