"""Export key parsing and the sensor's cursor logic, on synthetic listings (the moto test drives the real thing)."""

import datetime as dt
import gzip

import pytest

from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import publish_day, publish_day_merged, read_manifest
from analytics_dagster.lib.s3_export import (
    ExportCursor,
    ExportLocation,
    ListedObject,
    find_new_objects,
    parse_export_name,
    plan_tick,
)

T0 = dt.datetime(2026, 3, 20, 12, 0, 0, tzinfo=dt.UTC)
MARGIN = dt.timedelta(minutes=30)
FIRST, LAST = dt.date(2026, 1, 1), dt.date(2026, 3, 20)


def obj(key: str, seconds: float = 0, etag: str = "e1") -> ListedObject:
    return ListedObject(f"exports/100001/{key}", etag, T0 + dt.timedelta(seconds=seconds))


def keys(objects) -> list[str]:
    return sorted(o.key.rsplit("/", 1)[-1] for o in objects)


def test_export_names_map_utc_hours_to_moscow_days():
    late_evening = parse_export_name("exports/100001/100001_2026-03-14_21#0.json.gz")
    assert late_evening.moscow_day == dt.date(2026, 3, 15) and late_evening.part == 0
    assert parse_export_name("100001_2026-03-15_20#12.json.gz").moscow_day == dt.date(2026, 3, 15)
    marker = parse_export_name("exports/100001/100001_2026-03-15_7_complete")
    assert marker.is_marker and marker.utc_hour == dt.datetime(2026, 3, 15, 7)
    for not_export in ("exports/readme.txt", "100001_2026-03-15_24#0.json.gz", "100001_2026-02-30_1#0.json.gz",
                       "100001_2026-03-15_1#0.json", "exports/100001/"):  # fmt: skip
        assert parse_export_name(not_export) is None


def test_export_location_parsing():
    assert ExportLocation.parse("s3://bucket/a/b/") == ExportLocation("bucket", "a/b")
    assert ExportLocation.parse("s3://bucket").key_prefix("") == ""
    assert ExportLocation.parse("s3://bucket/a").key_prefix("") == "a/"
    with pytest.raises(ValueError, match="s3://bucket/prefix"):
        ExportLocation.parse("bucket/prefix")


def test_objects_sharing_one_second_that_appear_later_are_found():
    first_batch = [obj(f"100001_2026-03-15_{h}#0.json.gz", seconds=5) for h in range(3)]
    new, cursor = find_new_objects(first_batch, ExportCursor(), MARGIN)
    assert keys(new) == keys(first_batch)
    same_second = obj("100001_2026-03-15_3#0.json.gz", seconds=5)
    new, cursor = find_new_objects([*first_batch, same_second], ExportCursor.decode(cursor.encode()), MARGIN)
    assert keys(new) == ["100001_2026-03-15_3#0.json.gz"]
    new, _ = find_new_objects([*first_batch, same_second], cursor, MARGIN)
    assert new == []


def test_an_object_stamped_before_the_watermark_but_listed_later_is_found_within_the_margin():
    _, cursor = find_new_objects([obj("100001_2026-03-15_5#0.json.gz", seconds=600)], ExportCursor(), MARGIN)
    slow_upload = obj("100001_2026-03-15_4#1.json.gz", seconds=600 - 20 * 60)  # 20 minutes older, visible now
    listing = [obj("100001_2026-03-15_5#0.json.gz", seconds=600), slow_upload]
    new, cursor = find_new_objects(listing, cursor, MARGIN)
    assert new == [slow_upload]
    beyond_margin = obj("100001_2026-03-15_4#2.json.gz", seconds=600 - 40 * 60)
    new, _ = find_new_objects([*listing, beyond_margin], cursor, MARGIN)
    assert new == []  # documented limit: later than the margin counts as already listed


def test_rewritten_content_is_new_and_the_cursor_forgets_old_keys():
    original = obj("100001_2026-03-15_5#0.json.gz", seconds=0)
    _, cursor = find_new_objects([original], ExportCursor(), MARGIN)
    rewritten = obj("100001_2026-03-15_5#0.json.gz", seconds=3600, etag="e2")
    new, cursor = find_new_objects([rewritten], cursor, MARGIN)
    assert new == [rewritten]
    assert len(cursor.seen) == 1 and cursor.watermark == rewritten.last_modified


def test_a_tick_groups_new_keys_per_moscow_day_with_stable_run_keys():
    listing = [
        obj("100001_2026-03-14_21#0.json.gz"),  # Moscow 2026-03-15
        obj("100001_2026-03-15_20#0.json.gz"),  # Moscow 2026-03-15
        obj("100001_2026-03-15_20_complete"),
        obj("100001_2026-03-15_21#0.json.gz"),  # Moscow 2026-03-16
        ListedObject("exports/notes.txt", "x", T0),
    ]
    plan = plan_tick(listing, ExportCursor(), margin=MARGIN, first_day=FIRST, last_day=LAST)
    summary = [(str(r.day), len(r.keys), len(r.markers)) for r in plan.requests]
    assert summary == [("2026-03-15", 2, 1), ("2026-03-16", 1, 0)]
    assert plan.ignored == ["exports/notes.txt"]
    again = plan_tick(listing, ExportCursor(), margin=MARGIN, first_day=FIRST, last_day=LAST)
    assert [r.run_key for r in again.requests] == [r.run_key for r in plan.requests]
    assert plan_tick(listing, plan.cursor, margin=MARGIN, first_day=FIRST, last_day=LAST).requests == []


def test_keys_of_a_day_without_a_partition_yet_wait_in_the_cursor():
    today = obj("100001_2026-03-20_22#0.json.gz")  # UTC 22:00 of the 20th = Moscow 21st, not a partition yet
    old = obj("100001_2025-06-01_3#0.json.gz")
    listing = [today, old]

    def tick(cursor: ExportCursor, last_day: dt.date = LAST):
        return plan_tick(listing, cursor, margin=MARGIN, first_day=FIRST, last_day=last_day)

    plan = tick(ExportCursor())
    assert plan.requests == [] and plan.before_start == [old.key]
    assert ExportCursor.decode(plan.cursor.encode()).pending == (today,)
    still = tick(ExportCursor.decode(plan.cursor.encode()))
    assert still.requests == [] and still.cursor.pending == (today,)
    released = tick(still.cursor, last_day=dt.date(2026, 3, 21))
    assert [(str(r.day), r.keys) for r in released.requests] == [("2026-03-21", (today.key,))]
    assert released.cursor.pending == ()
    assert tick(released.cursor, last_day=dt.date(2026, 3, 21)).requests == []


def test_publishing_a_merged_day_keeps_listed_files_and_removes_the_rest(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    originals = []
    for name in ("a.json.gz", "b.json.gz", "c.json.gz"):
        (tmp_path / name).write_bytes(gzip.compress(f"{name}\n".encode()))
        originals.append(tmp_path / name)
    first = publish_day(store, "amplitude", "2026-03-15", originals, origin="export_api")
    newer_b = tmp_path / "new" / "b.json.gz"
    newer_b.parent.mkdir()
    newer_b.write_bytes(gzip.compress(b"b2\nb2\n"))
    keep = [f for f in first.files if f.name != "c.json.gz"]
    merged = publish_day_merged(store, "amplitude", "2026-03-15", [newer_b], keep=keep, origin="s3_export")
    assert [(f.name, f.lines) for f in merged.files] == [("a.json.gz", 1), ("b.json.gz", 2)]
    assert store.list_keys("raw/amplitude/2026-03-15") == [
        "raw/amplitude/2026-03-15/_manifest.json",
        "raw/amplitude/2026-03-15/a.json.gz",
        "raw/amplitude/2026-03-15/b.json.gz",
    ]
    assert read_manifest(store, "amplitude", "2026-03-15") == merged
    with pytest.raises(ValueError, match="not in the store: c.json.gz"):
        publish_day_merged(store, "amplitude", "2026-03-15", [], keep=first.files, origin="s3_export")
