"""The raw files of a day on local disk, and the fast path that reads them all as one DuckDB relation.

Amplitude files are gzip JSON lines that DuckDB reads directly. An AppMetrica day is one gzip of the Logs API body
``{"data": [...]}``; it is unwrapped once (streaming) into a plain JSON array that DuckDB reads element by element,
so a day of millions of events never sits in memory as one document.

The fast path (``read_json`` over all files, every field as text, unparseable lines as all-NULL rows) has no line
numbers. A file in which it finds a problem, or which it cannot read at all, is read again by the exact path
(:mod:`.exact_lines`), which numbers every record and never stops at a bad one.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analytics_dagster.lib.dwh.sqltext import sql_string
from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import Manifest, day_prefix, read_manifest

SOURCES = ("amplitude", "appmetrica", "import")
# Sources whose raw files are gzip JSON lines (one record per line, line counts in the manifest).
JSON_LINES_SOURCES = ("amplitude", "import")

# Every field of an Amplitude Export API record: objects are kept as JSON, everything else read as text and typed
# by sql/dwh/stage/amplitude_records.sql (so a wrong type in one record is that record's problem, not the file's).
AMPLITUDE_OBJECT_FIELDS = (
    "data",
    "event_properties",
    "global_user_properties",
    "group_properties",
    "groups",
    "plan",
    "user_properties",
)
AMPLITUDE_TEXT_FIELDS = (
    "$insert_id",
    "$insert_key",
    "$schema",
    "adid",
    "amplitude_attribution_ids",
    "amplitude_event_type",
    "amplitude_id",
    "app",
    "city",
    "client_event_time",
    "client_upload_time",
    "country",
    "data_type",
    "device_brand",
    "device_carrier",
    "device_family",
    "device_id",
    "device_manufacturer",
    "device_model",
    "device_type",
    "dma",
    "event_id",
    "event_time",
    "event_type",
    "idfa",
    "ip_address",
    "is_attribution_event",
    "language",
    "library",
    "location_lat",
    "location_lng",
    "os_name",
    "os_version",
    "partner_id",
    "paying",
    "platform",
    "processed_time",
    "region",
    "sample_rate",
    "server_received_time",
    "server_upload_time",
    "session_id",
    "source_id",
    "start_version",
    "user_creation_time",
    "user_id",
    "uuid",
    "version_name",
)
# Every field of an AppMetrica Logs API `events` record (the API sends every value as a string).
APPMETRICA_FIELDS = (
    "event_name",
    "event_json",
    "event_datetime",
    "event_timestamp",
    "event_receive_datetime",
    "event_receive_timestamp",
    "appmetrica_device_id",
    "installation_id",
    "profile_id",
    "session_id",
    "os_name",
    "os_version",
    "device_manufacturer",
    "device_model",
    "device_type",
    "device_locale",
    "app_version_name",
    "app_package_name",
    "city",
    "country_iso_code",
    "connection_type",
    "operator_name",
    "mcc",
    "mnc",
    "google_aid",
    "ios_ifa",
    "application_id",
    "device_ipv6",
    "ios_ifv",
    "original_device_model",
    "windows_aid",
    "app_build_number",
)
# Every field of an imported event as lib/imports publishes it (docs/import.md): `properties` is an object.
IMPORT_TEXT_FIELDS = (
    "uuid",
    "event_id",
    "event_type",
    "occurred_at",
    "user_id",
    "device_id",
    "session_id",
    "platform",
    "uploaded_at",
    "landing_file",
    "line",
    "problem",
    "raw",
)
_LOGS_API_PREFIX = re.compile(rb'^\s*\{\s*"data"\s*:\s*')
_LOGS_API_SUFFIX = re.compile(rb"\]\s*\}$")
CHUNK_BYTES = 1 << 20  # bytes read at a time
APPMETRICA_EVENTS_FILE = "events.json.gz"
# What reading a broken gzip raises: BadGzipFile (an OSError), EOFError when it is cut short, zlib.error.
GZIP_ERRORS = (OSError, EOFError, zlib.error)


class RawFormatError(ValueError):
    """A Logs API body that cannot be unwrapped for the fast path (not ``{"data": [...]}``, or cut short)."""


@dataclass(frozen=True)
class RawFile:
    source: str
    key: str  # object key, e.g. raw/amplitude/2025-07-01/100001_2025-06-30_21#0.json.gz
    gzip_path: Path  # the raw gzip on local disk, which the exact path reads
    path: Path | None  # what the fast path reads: the gzip (Amplitude) or the unwrapped JSON array (AppMetrica)
    lines: int | None  # records per the manifest (Amplitude: lines; AppMetrica: the ingest's record count, if any)
    unreadable: str | None = None  # why the fast path cannot read the file at all (then path is None)
    sha256: str | None = None  # the manifest's checksum of the gzip


def damage_of(raw_file: RawFile) -> str | None:
    """Why the local gzip is not the file the manifest describes (damaged in the store or in transit), or None.
    Damaged gzip data may still decompress, into changed values that only the checksum catches."""
    if raw_file.sha256 is None:
        return None
    digest = hashlib.sha256()
    with open(raw_file.gzip_path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)  # hashlib releases the GIL: this runs beside DuckDB's parse
    if digest.hexdigest() != raw_file.sha256:
        return f"raw file damaged: its sha256 differs from the manifest's ({digest.hexdigest()[:12]}…)"
    return None


@dataclass(frozen=True)
class RawDay:
    source: str
    manifest: Manifest | None  # None: the day has not been ingested for this source
    files: tuple[RawFile, ...]

    @property
    def is_demo(self) -> bool:
        return self.manifest is not None and self.manifest.is_demo


def column_spec(source: str) -> dict[str, str]:
    """The ``columns=`` of ``read_json`` / the structure of ``json_transform`` for a source's records."""
    if source == "amplitude":
        return {**{f: "VARCHAR" for f in AMPLITUDE_TEXT_FIELDS}, **{f: "JSON" for f in AMPLITUDE_OBJECT_FIELDS}}
    if source == "appmetrica":
        return {f: "VARCHAR" for f in APPMETRICA_FIELDS}
    if source == "import":
        return {**{f: "VARCHAR" for f in IMPORT_TEXT_FIELDS}, "properties": "JSON"}
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def _duckdb_struct(spec: dict[str, str]) -> str:
    return "{" + ", ".join(f"{sql_string(name)}: {sql_string(kind)}" for name, kind in spec.items()) + "}"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(sql_string(item) for item in items) + "]"


@contextmanager
def local_raw_day(store: ObjectStore, source: str, day: str, workdir: Path) -> Iterator[RawDay]:
    """The raw files of (source, day) on local disk: the store's own files when local, else downloaded."""
    manifest = read_manifest(store, source, day)
    if manifest is None:
        yield RawDay(source, None, ())
        return
    files = []
    source_dir = workdir / source
    source_dir.mkdir(parents=True, exist_ok=True)
    for entry in manifest.files:
        if source == "appmetrica" and entry.name != APPMETRICA_EVENTS_FILE:
            continue  # installations / sessions_starts bodies are kept raw, not loaded as events
        key = f"{day_prefix(source, day)}/{entry.name}"
        path = store.local_path(key)
        if path is None:  # S3: DuckDB reads local files only (no httpfs here)
            path = source_dir / entry.name
            store.download_file(key, path)
        # records the file holds: Amplitude's lines; the Logs API records the ingest counted (when it did)
        lines = entry.lines if source in JSON_LINES_SOURCES else manifest.details.get("records", {}).get("events")
        if source == "appmetrica":
            array_path = source_dir / f"{entry.name}.array.json"
            try:
                unwrap_logs_api_body(path, array_path, key)
            except (RawFormatError, *GZIP_ERRORS) as error:  # the exact path reads what can be read
                files.append(RawFile(source, key, path, None, lines, f"{type(error).__name__}: {error}", entry.sha256))
                continue
            files.append(RawFile(source, key, path, array_path, lines, sha256=entry.sha256))
        else:
            files.append(RawFile(source, key, path, path, lines, sha256=entry.sha256))
    yield RawDay(source, manifest, tuple(files))


def unwrap_logs_api_body(gzip_path: Path, out_path: Path, key: str) -> None:
    """Streams ``{"data": [...]}`` (gzip) into ``[...]`` so DuckDB can read the records one by one."""
    with gzip.open(gzip_path, "rb") as src, open(out_path, "wb") as dst:
        head = src.read(CHUNK_BYTES)
        match = _LOGS_API_PREFIX.match(head)
        if not match:
            raise RawFormatError(f'{key}: not an AppMetrica Logs API body (expected {{"data": [...]}})')
        pending = head[match.end() :]
        while chunk := src.read(CHUNK_BYTES):
            pending += chunk
            # The closing "]}" is among the last non-blank bytes: hold those (and any blanks after) until EOF.
            keep_from = max(0, len(pending.rstrip()) - 64)
            dst.write(pending[:keep_from])
            pending = pending[keep_from:]
        tail = pending.rstrip()
        if not _LOGS_API_SUFFIX.search(tail):
            raise RawFormatError(f'{key}: the Logs API body does not end with "]}}" (truncated?)')
        dst.write(tail[:-1])


def fast_relation(source: str, files: list[RawFile]) -> str:
    """All files of a source at once, without line numbers."""
    spec = _duckdb_struct(column_spec(source))
    paths = _sql_list([str(f.path) for f in files])
    keys = {str(f.path): f.key for f in files}
    key_of_path = (
        "CASE filename "
        + " ".join(f"WHEN {sql_string(path)} THEN {sql_string(key)}" for path, key in keys.items())
        + " END"
    )
    if source in JSON_LINES_SOURCES:
        reader = (
            f"read_json({paths}, format='newline_delimited', compression='gzip', columns={spec}, "
            "ignore_errors=true, filename=true)"
        )
    else:
        reader = f"read_json({paths}, format='array', columns={spec}, filename=true)"
    return (
        f"(SELECT * EXCLUDE (filename), {key_of_path} AS raw_file, CAST(NULL AS BIGINT) AS line_number, "
        "CAST(NULL AS VARCHAR) AS raw_line, CAST(NULL AS BLOB) AS raw_bytes, "
        f"CAST(NULL AS VARCHAR) AS json_problem FROM {reader})"
    )
