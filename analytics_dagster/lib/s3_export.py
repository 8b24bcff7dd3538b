"""Amplitude's hourly Amazon S3 export: key parsing, the sensor's cursor, and copying a day into the raw store.

Amplitude writes ``{prefix}/{projectId}/{projectId}_YYYY-MM-DD_H#N.json.gz`` (UTC date and hour of
server_upload_time, part N) and, when an hour is fully written, a ``{projectId}_YYYY-MM-DD_H_complete`` marker.
The files have the same names and content as the Export API's ZIP members, so they go into the same raw store
layout and downstream assets never know which way a day arrived.

Why the cursor looks the way it does (see :func:`find_new_objects`):

* S3 lists keys in lexicographic order, and new objects do not always sort after old ones: a late ``#2`` part of
  an early hour, a manual backfill of older dates, or another project id can land anywhere in the listing. A
  "StartAfter the last key" cursor would skip those, so every tick lists the whole prefix (all pages).
* LastModified has one-second resolution and many objects share a second, so "LastModified > watermark" would
  skip objects that appear later within the same second. And S3 stamps LastModified when an upload starts, so an
  object can become visible after newer-stamped ones were already listed.
* So the cursor is a watermark (the newest LastModified seen, taken from S3's own clock, never the sensor host's)
  plus the fingerprints (key + ETag) of every object whose LastModified is within ``margin`` of it. An object is
  new when it is at most ``margin`` older than the watermark and its fingerprint is not in the set; anything
  older was listed by an earlier tick. The set is bounded by the objects that arrive within ``margin``.
* The fingerprint includes the ETag, so an object rewritten with new content (Amplitude re-exports an hour after
  a backfill) counts as new and its day is reloaded; the same content written again does not.
* Objects of the Moscow day still running have no partition to request yet; they wait in the cursor
  (``pending``) and are requested once the day's partition exists.
* The cursor is only saved with a tick's run requests, and each run request's run_key is derived from the day
  and the exact objects it covers, so a tick evaluated twice (the daemon died before saving the cursor) requests
  the same runs again and Dagster drops the duplicates.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Generic, TypeVar

from analytics_dagster.lib.http_retry import Log
from analytics_dagster.lib.moscow_time import moscow_day_of, moscow_day_utc_bounds
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import Manifest, publish_day_merged, read_manifest

Request = TypeVar("Request")

_NAME = re.compile(
    r"(?P<project>\d+)_(?P<date>\d{4}-\d{2}-\d{2})_(?P<hour>\d{1,2})(?:#(?P<part>\d+)\.json\.gz|_complete)"
)
_FINGERPRINT_BYTES = 8
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class ExportLocation:
    bucket: str
    prefix: str  # without leading or trailing slash; may be empty

    @classmethod
    def parse(cls, uri: str) -> ExportLocation:
        """``s3://bucket/some/prefix`` as in ``AMPLITUDE_S3_EXPORT_PREFIX``."""
        if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
            raise ValueError(f"AMPLITUDE_S3_EXPORT_PREFIX={uri!r} must look like s3://bucket/prefix")
        bucket, _, prefix = uri[5:].partition("/")
        return cls(bucket, prefix.strip("/"))

    def key_prefix(self, *parts: str) -> str:
        return "/".join([self.prefix, *parts] if self.prefix else parts)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class ExportFile:
    """What an export object's name says: project, UTC hour, and part number (None for a ``_complete`` marker)."""

    project_id: str
    utc_hour: dt.datetime  # naive UTC
    part: int | None

    @property
    def is_marker(self) -> bool:
        return self.part is None

    @property
    def moscow_day(self) -> dt.date:
        return moscow_day_of(self.utc_hour)


def parse_export_name(key: str) -> ExportFile | None:
    """Parses the last path segment of an export key or raw file name; None when it is not an export file."""
    match = _NAME.fullmatch(PurePosixPath(key).name)
    if not match or int(match["hour"]) > 23:
        return None
    try:
        date = dt.date.fromisoformat(match["date"])
    except ValueError:
        return None
    hour = dt.datetime.combine(date, dt.time(int(match["hour"])))
    return ExportFile(match["project"], hour, None if match["part"] is None else int(match["part"]))


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    last_modified: dt.datetime  # timezone-aware, as S3 reports it

    def fingerprint(self) -> bytes:
        return hashlib.blake2b(f"{self.key}\0{self.etag}".encode(), digest_size=_FINGERPRINT_BYTES).digest()


@dataclass(frozen=True)
class ExportCursor:
    watermark: dt.datetime | None = None
    seen: frozenset[bytes] = field(default_factory=frozenset)
    # objects already found whose Moscow day is not a partition yet (the day still running): requested later
    pending: tuple[ListedObject, ...] = ()

    def encode(self) -> str:
        return json.dumps(
            {
                "v": _CURSOR_VERSION,
                "watermark": self.watermark.isoformat() if self.watermark else None,
                "seen": base64.b64encode(b"".join(sorted(self.seen))).decode(),
                "pending": [[o.key, o.etag, o.last_modified.isoformat()] for o in self.pending],
            }
        )

    @classmethod
    def decode(cls, text: str | None) -> ExportCursor:
        if not text:
            return cls()
        raw = json.loads(text)
        if raw.get("v") != _CURSOR_VERSION:
            raise ValueError(f"unknown S3 export cursor version {raw.get('v')!r}")
        packed = base64.b64decode(raw["seen"])
        return cls(
            watermark=dt.datetime.fromisoformat(raw["watermark"]) if raw["watermark"] else None,
            seen=frozenset(packed[i : i + _FINGERPRINT_BYTES] for i in range(0, len(packed), _FINGERPRINT_BYTES)),
            pending=tuple(ListedObject(k, e, dt.datetime.fromisoformat(m)) for k, e, m in raw["pending"]),
        )


def find_new_objects(
    listing: Iterable[ListedObject], cursor: ExportCursor, margin: dt.timedelta
) -> tuple[list[ListedObject], ExportCursor]:
    """The objects of a full listing that no earlier tick returned, and the advanced cursor (pending unchanged)."""
    floor = cursor.watermark - margin if cursor.watermark else None
    new: list[ListedObject] = []
    recent: list[tuple[dt.datetime, bytes]] = []
    newest = cursor.watermark
    for obj in listing:
        if floor is not None and obj.last_modified < floor:
            continue
        fingerprint = obj.fingerprint()
        recent.append((obj.last_modified, fingerprint))
        if fingerprint not in cursor.seen:
            new.append(obj)
        if newest is None or obj.last_modified > newest:
            newest = obj.last_modified
    if newest is None:
        return new, cursor
    next_floor = newest - margin
    seen = frozenset(fp for modified, fp in recent if modified >= next_floor)
    return new, replace(cursor, watermark=newest, seen=seen)


def list_export_objects(client: Any, location: ExportLocation) -> Iterator[ListedObject]:
    """Every object under the export prefix, all listing pages (1,000 keys each)."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.key_prefix(""))
    for page in pages:
        for item in page.get("Contents", []):
            yield ListedObject(item["Key"], item.get("ETag", "").strip('"'), item["LastModified"])


@dataclass(frozen=True)
class TickPlan(Generic[Request]):
    requests: list[Request]  # one run per day with new objects
    cursor: ExportCursor
    ignored: list[str]  # keys that are not a day's file
    before_start: list[str]  # files of days before the first partition


def plan_day_tick(
    listing: Iterable[ListedObject],
    cursor: ExportCursor,
    *,
    margin: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
    day_of: Callable[[str], dt.date | None],
    request: Callable[[dt.date, list[ListedObject], str], Request],
    run_key_prefix: str,
) -> TickPlan[Request]:
    """What one sensor tick requests, given the full listing and the cursor of the previous tick.

    New objects are grouped into one ``request(day, objects, run_key)`` per day that ``day_of`` their keys names
    (not one per key: a run rebuilds the whole day, so a run per key would copy a day's files over and over as its
    24+ hourly objects trickle in). The run_key hashes the day's exact (key, ETag) set, so a tick that finds the
    same objects again requests nothing new. Objects of a day after ``last_day`` (the Moscow day still running has
    no partition yet) wait in the cursor and are requested once their partition exists.
    """
    new, advanced = find_new_objects(listing, cursor, margin)
    by_day: dict[dt.date, list[ListedObject]] = defaultdict(list)
    waiting: list[ListedObject] = []
    ignored: list[str] = []
    before_start: list[str] = []
    for obj in [*cursor.pending, *new]:
        day = day_of(obj.key)
        if day is None:
            ignored.append(obj.key)
        elif day < first_day:
            before_start.append(obj.key)
        elif day > last_day:
            waiting.append(obj)
        else:
            by_day[day].append(obj)
    requests = []
    for day, objects in sorted(by_day.items()):
        digest = hashlib.sha256("\n".join(sorted(f"{o.key}\0{o.etag}" for o in objects)).encode()).hexdigest()
        requests.append(request(day, objects, f"{run_key_prefix}:{day}:{digest[:24]}"))
    return TickPlan(requests, replace(advanced, pending=tuple(waiting)), ignored, before_start)


@dataclass(frozen=True)
class DayRequest:
    """One run for one Moscow day, covering the new objects of that day found by one tick."""

    day: dt.date
    keys: tuple[str, ...]  # data files
    markers: tuple[str, ...]  # _complete markers
    run_key: str

    @classmethod
    def of(cls, day: dt.date, objects: list[ListedObject], run_key: str) -> DayRequest:
        parsed = [(o.key, parse_export_name(o.key)) for o in objects]
        keys = tuple(sorted(key for key, name in parsed if name and not name.is_marker))
        return cls(day, keys, tuple(sorted(key for key, name in parsed if name and name.is_marker)), run_key)


def plan_tick(
    listing: Iterable[ListedObject],
    cursor: ExportCursor,
    *,
    margin: dt.timedelta,
    first_day: dt.date,
    last_day: dt.date,
) -> TickPlan[DayRequest]:
    """The export's runs of one tick: :func:`plan_day_tick` over the Moscow days that export file names carry."""
    return plan_day_tick(
        listing,
        cursor,
        margin=margin,
        first_day=first_day,
        last_day=last_day,
        day_of=_export_moscow_day,
        request=DayRequest.of,
        run_key_prefix="amplitude-s3",
    )


def _export_moscow_day(key: str) -> dt.date | None:
    parsed = parse_export_name(key)
    return parsed.moscow_day if parsed else None


def list_day_objects(client: Any, location: ExportLocation, day: dt.date) -> list[tuple[str, ExportFile]]:
    """The export objects (data and markers) of Moscow day ``day``: UTC hours (D-1)T21 to DT20 of every project.

    Lists only the two UTC dates the day touches in each project folder rather than the whole prefix.
    """
    start, end = moscow_day_utc_bounds(day)
    paginator = client.get_paginator("list_objects_v2")
    projects = []
    for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key_prefix(""), Delimiter="/"):
        projects.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
    found = []
    for project_prefix in projects:
        project = project_prefix.rstrip("/").rsplit("/", 1)[-1]
        for date in sorted({start.date(), (end - dt.timedelta(hours=1)).date()}):
            for page in paginator.paginate(Bucket=location.bucket, Prefix=f"{project_prefix}{project}_{date}_"):
                for item in page.get("Contents", []):
                    parsed = parse_export_name(item["Key"])
                    if parsed is not None and start <= parsed.utc_hour < end:
                        found.append((item["Key"], parsed))
    return sorted(found)


def copy_day_from_s3_export(
    client: Any, location: ExportLocation, day: dt.date, store: ObjectStore, work_dir: Path, log: Log
) -> Manifest:
    """Copies the S3 export's files of ``day`` into the raw store, hour by hour over what is already there.

    For every UTC hour the S3 export has files for, those files replace whatever the store held for that hour
    (the Export API's files, or an earlier, incomplete set of parts); other hours keep their files. Demo data is
    never mixed with real data: a demo day is replaced as a whole.
    """
    objects = list_day_objects(client, location, day)
    data = [(key, parsed) for key, parsed in objects if not parsed.is_marker]
    complete = sorted({parsed.utc_hour for _, parsed in objects if parsed.is_marker})
    work_dir.mkdir(parents=True, exist_ok=True)
    files = []
    for key, _ in data:
        target = work_dir / PurePosixPath(key).name
        client.download_file(location.bucket, key, str(target))
        files.append(target)
    s3_hours = {parsed.utc_hour for _, parsed in data}
    previous = read_manifest(store, "amplitude", day)
    keep = []
    if previous is not None and not previous.is_demo:
        keep = [
            f
            for f in previous.files
            if (parsed := parse_export_name(f.name)) is None or parsed.utc_hour not in s3_hours
        ]
    elif previous is not None:
        log.warning(f"Amplitude {day}: replacing the DEMO data stored for this day with the S3 export's files")
    incomplete = sorted(s3_hours - set(complete))
    if incomplete:
        log.warning(
            f"Amplitude {day}: {len(incomplete)} hour(s) have S3 files but no _complete marker yet "
            f"({', '.join(f'{h:%Y-%m-%dT%H}' for h in incomplete)}); they are reloaded when the rest lands"
        )
    manifest = publish_day_merged(
        store,
        "amplitude",
        day,
        files,
        keep=keep,
        origin="s3_export",
        details={
            "s3_location": str(location),
            "s3_objects": len(files),
            "hours_from_s3": [f"{h:%Y-%m-%dT%H}" for h in sorted(s3_hours)],
            "complete_hours": [f"{h:%Y-%m-%dT%H}" for h in complete],
            "kept_from_previous": {"origin": previous.origin, "files": [f.name for f in keep]} if keep else None,
        },
    )
    log.info(
        f"Amplitude {day}: copied {len(files)} S3 export files ({len(s3_hours)} hours, {len(complete)} complete), "
        f"kept {len(keep)} earlier files"
    )
    return manifest
