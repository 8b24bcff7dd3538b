"""landing_zone_sensor: each new landing file's day requested once across restarts (fresh context per tick, only
the saved cursor carried over), with files sharing modification seconds and arriving out of key order."""

import datetime as dt
import os
from collections import Counter
from pathlib import Path

import dagster as dg

from analytics_dagster.defs.ingest.imports import landing_zone_sensor
from analytics_dagster.defs.resources import ObjectStoreResource
from analytics_dagster.lib.imports.landing import list_landing_objects, plan_tick
from analytics_dagster.lib.object_store import LocalObjectStore, S3ObjectStore
from analytics_dagster.lib.s3_export import ExportCursor, ListedObject

T0 = dt.datetime(2026, 3, 20, 12, 0, 0, tzinfo=dt.UTC)


def drop(root: Path, key: str, modified: dt.datetime, content: str = "event_id\n") -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    os.utime(path, ns=(int(modified.timestamp() * 1e9),) * 2)


def tick(root: Path, cursor: str | None):
    resources = {"object_store": ObjectStoreResource(local_dir=str(root))}
    with dg.build_sensor_context(cursor=cursor, resources=resources) as context:
        return landing_zone_sensor(context)


def days_requested(result) -> Counter:
    return Counter(request.partition_key for request in result.run_requests)


def test_each_new_file_day_is_requested_once_across_restarts(tmp_path):
    root = tmp_path / "objects"
    drop(root, "landing/events/2026-03-12/b.csv", T0)
    drop(root, "landing/events/2026-03-11/a.csv", T0)  # same second, sorts first
    drop(root, "landing/events/2026-03-11/c.ndjson", T0)
    first = tick(root, None)
    assert days_requested(first) == Counter({"2026-03-11": 1, "2026-03-12": 1})
    assert {r.tags["analytics/landing_files"] for r in first.run_requests} == {"2", "1"}

    idle = tick(root, first.cursor)  # a restart with nothing new
    assert not idle.run_requests

    # later in the same second as the first batch, and an older day that sorts before everything
    drop(root, "landing/events/2026-03-12/a0.parquet", T0)
    drop(root, "landing/events/2026-03-01/late.csv", T0 + dt.timedelta(seconds=1))
    drop(root, "landing/events/2026-03-05/_SUCCESS", T0 + dt.timedelta(seconds=1))  # not data
    drop(root, "landing/readme.txt", T0 + dt.timedelta(seconds=1))  # not in a day folder
    second = tick(root, idle.cursor)
    assert days_requested(second) == Counter({"2026-03-01": 1, "2026-03-12": 1})

    replayed = tick(root, idle.cursor)  # the daemon died before saving the cursor: same runs, same run keys
    assert [r.run_key for r in replayed.run_requests] == [r.run_key for r in second.run_requests]

    drop(root, "landing/events/2026-03-11/a.csv", T0 + dt.timedelta(minutes=5), "event_id,event_type\n")  # rewritten
    third = tick(root, second.cursor)
    assert days_requested(third) == Counter({"2026-03-11": 1})
    assert not tick(root, third.cursor).run_requests


def test_files_of_the_running_day_wait_in_the_cursor_until_their_partition_exists():
    listing = [
        ListedObject("landing/events/2026-03-21/a.csv", "e1", T0),
        ListedObject("landing/events/2026-03-20/b.csv", "e2", T0),
    ]
    plan = plan_tick(
        listing,
        ExportCursor(),
        margin=dt.timedelta(hours=3),
        first_day=dt.date(2026, 1, 1),
        last_day=dt.date(2026, 3, 20),
    )
    assert [(str(r.day), r.keys) for r in plan.requests] == [("2026-03-20", ("landing/events/2026-03-20/b.csv",))]
    cursor = ExportCursor.decode(plan.cursor.encode())  # survives a restart
    assert [o.key for o in cursor.pending] == ["landing/events/2026-03-21/a.csv"]
    still = plan_tick(
        listing, cursor, margin=dt.timedelta(hours=3), first_day=dt.date(2026, 1, 1), last_day=dt.date(2026, 3, 20)
    )
    assert not still.requests
    next_day = plan_tick(
        listing,
        ExportCursor.decode(still.cursor.encode()),
        margin=dt.timedelta(hours=3),
        first_day=dt.date(2026, 1, 1),
        last_day=dt.date(2026, 3, 21),
    )
    assert [str(r.day) for r in next_day.requests] == ["2026-03-21"] and not next_day.cursor.pending


def test_the_landing_zone_lists_the_same_on_s3(moto_endpoint, s3_bucket, s3_client, tmp_path):
    s3_client.put_object(Bucket=s3_bucket, Key="team/landing/events/2026-03-11/a.csv", Body=b"event_id\n")
    s3_client.put_object(Bucket=s3_bucket, Key="team/other/x.csv", Body=b"x")
    listed = list_landing_objects(S3ObjectStore(s3_client, s3_bucket, "team"))
    assert [o.key for o in listed] == ["landing/events/2026-03-11/a.csv"] and listed[0].etag
    local = LocalObjectStore(tmp_path)
    drop(tmp_path, "landing/events/2026-03-11/a.csv", T0)
    assert [(o.key, o.last_modified) for o in list_landing_objects(local)] == [("landing/events/2026-03-11/a.csv", T0)]
