"""The landing zone ``landing/events/<YYYY-MM-DD>/`` in the object store, and what the sensor on it requests.

The folder's date is the Moscow upload day that owns the files. Names starting with ``.`` or ``_`` are not data
(temporary uploads, ``_SUCCESS`` markers) and are skipped.

The sensor's cursor is the S3 export sensor's (:mod:`analytics_dagster.lib.s3_export` explains it): every tick
lists the whole landing zone; an object is new when it is at most ``margin`` older than the newest modification
time seen and its fingerprint (key + ETag) is not remembered. On S3 the ETag is S3's; in a local folder it is the
file's size and modification time in nanoseconds, so a rewritten file counts as new. One run per day per tick, with
a run key hashing the day's exact new (key, ETag) set, so a tick evaluated twice requests the same runs and Dagster
drops the repeats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from analytics_dagster.lib.object_store import LocalObjectStore, ObjectStore, S3ObjectStore
from analytics_dagster.lib.s3_export import ExportCursor, ListedObject, TickPlan, plan_day_tick

LANDING_PREFIX = "landing/events"


def landing_day_prefix(day: dt.date | str) -> str:
    return f"{LANDING_PREFIX}/{day}/"


def landing_day_of(key: str) -> dt.date | None:
    """The upload day of a landing data file's key; None for keys that are not data files of a day folder."""
    parts = PurePosixPath(key).parts
    if len(parts) < 4 or "/".join(parts[:2]) != LANDING_PREFIX or parts[-1][:1] in (".", "_"):
        return None
    try:
        return dt.date.fromisoformat(parts[2])
    except ValueError:
        return None


def list_landing_objects(store: ObjectStore, prefix: str = LANDING_PREFIX + "/") -> list[ListedObject]:
    """Every object under ``prefix`` with its ETag (local folder: size and mtime) and modification time."""
    if isinstance(store, S3ObjectStore):
        full_prefix = f"{store.prefix}/{prefix}" if store.prefix else prefix
        pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=full_prefix)
        return [
            ListedObject(
                item["Key"][len(full_prefix) - len(prefix) :], item.get("ETag", "").strip('"'), item["LastModified"]
            )
            for page in pages
            for item in page.get("Contents", [])
        ]
    if isinstance(store, LocalObjectStore):
        listed = []
        for key in store.list_keys(prefix):
            stat = store.local_path(key).stat()
            modified = dt.datetime.fromtimestamp(stat.st_mtime_ns / 1e9, dt.UTC)
            listed.append(ListedObject(key, f"{stat.st_size}-{stat.st_mtime_ns}", modified))
        return listed
    raise TypeError(f"cannot list the landing zone of a {type(store).__name__}")


def day_files(store: ObjectStore, day: dt.date | str) -> list[ListedObject]:
    """The data files of one day's landing folder, oldest first (then by key): later files win duplicates."""
    objects = [o for o in list_landing_objects(store, landing_day_prefix(day)) if landing_day_of(o.key) is not None]
    return sorted(objects, key=lambda o: (o.last_modified, o.key))


@dataclass(frozen=True)
class DayRequest:
    """One run for one upload day, covering the new landing files of that day found by one tick."""

    day: dt.date
    keys: tuple[str, ...]
    run_key: str

    @classmethod
    def of(cls, day: dt.date, objects: list[ListedObject], run_key: str) -> DayRequest:
        return cls(day, tuple(sorted(o.key for o in objects)), run_key)


def plan_tick(
    listing: Iterable[ListedObject],
    cursor: ExportCursor,
    *,
    margin: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
) -> TickPlan[DayRequest]:
    """The landing zone's runs of one tick: :func:`plan_day_tick` over the days of the landing folders."""
    return plan_day_tick(
        listing,
        cursor,
        margin=margin,
        first_day=first_day,
        last_day=last_day,
        day_of=landing_day_of,
        request=DayRequest.of,
        run_key_prefix="import",
    )
