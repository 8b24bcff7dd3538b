"""The raw files of a day as DuckDB relations: a fast path for whole files and an exact path with line numbers.

Amplitude files are gzip JSON lines that DuckDB reads directly. An AppMetrica day is one gzip of the Logs API body
``{"data": [...]}``; it is unwrapped once (streaming) into a plain JSON array that DuckDB reads element by element,
so a day of millions of events never sits in memory as one document.

The fast path (``read_json`` over all files, every field as text, unparseable lines as all-NULL rows) has no line
numbers. A file in which it finds a problem is read again by the exact path, which numbers every line (Amplitude:
line in the file, blank lines included; AppMetrica: position in ``data``) and keeps its raw text for the quarantine.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.raw_store import Manifest, day_prefix, read_manifest

SOURCES = ("amplitude", "appmetrica", "import")
# Sources whose raw files are gzip JSON lines (one record per line, line counts in the manifest).
JSON_LINES_SOURCES = ("amplitude", "import")

# Every field of an Amplitude Export API record: objects are kept as JSON, everything else read as text and typed
# by sql/dwh/stage/amplitude_records.sql (so a wrong type in one record is that record's problem, not the file's).
AMPLITUDE_OBJECT_FIELDS = (
    "data", "event_properties", "global_user_properties", "group_properties", "groups", "plan", "user_properties",
)
AMPLITUDE_TEXT_FIELDS = (
    "$insert_id", "$insert_key", "$schema", "adid", "amplitude_attribution_ids", "amplitude_event_type",
    "amplitude_id", "app", "city", "client_event_time", "client_upload_time", "country", "data_type",
    "device_brand", "device_carrier", "device_family", "device_id", "device_manufacturer", "device_model",
    "device_type", "dma", "event_id", "event_time", "event_type", "idfa", "ip_address", "is_attribution_event",
    "language", "library", "location_lat", "location_lng", "os_name", "os_version", "partner_id", "paying",
    "platform", "processed_time", "region", "sample_rate", "server_received_time", "server_upload_time",
    "session_id", "source_id", "start_version", "user_creation_time", "user_id", "uuid", "version_name",
)
# Every field of an AppMetrica Logs API `events` record (the API sends every value as a string).
APPMETRICA_FIELDS = (
    "event_name", "event_json", "event_datetime", "event_timestamp", "event_receive_datetime",
    "event_receive_timestamp", "appmetrica_device_id", "installation_id", "profile_id", "session_id", "os_name",
    "os_version", "device_manufacturer", "device_model", "device_type", "device_locale", "app_version_name",
    "app_package_name", "city", "country_iso_code", "connection_type", "operator_name", "mcc", "mnc", "google_aid",
    "ios_ifa", "application_id",
)
# Every field of an imported event as lib/imports publishes it (docs/import.md): `properties` is an object.
IMPORT_TEXT_FIELDS = (
    "uuid", "event_id", "event_type", "occurred_at", "user_id", "device_id", "session_id", "platform",
    "uploaded_at", "landing_file", "line", "problem", "raw",
)
_LOGS_API_PREFIX = re.compile(rb'^\s*\{\s*"data"\s*:\s*')
_LOGS_API_SUFFIX = re.compile(rb"\]\s*\}$")
_CHUNK = 1 << 20


class RawFormatError(ValueError):
    """A raw file cannot be read at all (not a Logs API body, JSON broken beyond one record)."""


@dataclass(frozen=True)
class RawFile:
    source: str
    key: str  # object key, e.g. raw/amplitude/2025-07-01/100001_2025-06-30_21#0.json.gz
    path: Path  # what DuckDB reads: the local gzip (Amplitude) or the unwrapped JSON array (AppMetrica)
    lines: int | None  # line count from the manifest (Amplitude), to notice lines the fast path skipped


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
    return "{" + ", ".join(f"{_sql_string(name)}: {_sql_string(kind)}" for name, kind in spec.items()) + "}"


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join(_sql_string(item) for item in items) + "]"


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
        key = f"{day_prefix(source, day)}/{entry.name}"
        path = store.local_path(key)
        if path is None:  # S3: DuckDB reads local files only (no httpfs here)
            path = source_dir / entry.name
            store.download_file(key, path)
        if source == "appmetrica":
            array_path = source_dir / f"{entry.name}.array.json"
            unwrap_logs_api_body(path, array_path, key)
            path = array_path
        files.append(RawFile(source, key, path, entry.lines if source in JSON_LINES_SOURCES else None))
    yield RawDay(source, manifest, tuple(files))


def unwrap_logs_api_body(gzip_path: Path, out_path: Path, key: str) -> None:
    """Streams ``{"data": [...]}`` (gzip) into ``[...]`` so DuckDB can read the records one by one."""
    with gzip.open(gzip_path, "rb") as src, open(out_path, "wb") as dst:
        head = src.read(_CHUNK)
        match = _LOGS_API_PREFIX.match(head)
        if not match:
            raise RawFormatError(f'{key}: not an AppMetrica Logs API body (expected {{"data": [...]}})')
        pending = head[match.end():]
        while chunk := src.read(_CHUNK):
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
    key_of_path = "CASE filename " + " ".join(
        f"WHEN {_sql_string(path)} THEN {_sql_string(key)}" for path, key in keys.items()
    ) + " END"
    if source in JSON_LINES_SOURCES:
        reader = (f"read_json({paths}, format='newline_delimited', compression='gzip', columns={spec}, "
                  "ignore_errors=true, filename=true)")
    else:
        reader = f"read_json({paths}, format='array', columns={spec}, filename=true)"
    return (f"(SELECT * EXCLUDE (filename), {key_of_path} AS raw_file, CAST(NULL AS BIGINT) AS line_number, "
            f"CAST(NULL AS VARCHAR) AS raw_line, CAST(NULL AS VARCHAR) AS json_problem FROM {reader})")


EXACT_LINES_TABLE = "dwh_exact_lines"


def load_exact_lines(con: Any, raw_file: RawFile) -> None:
    """Fills ``dwh_exact_lines(line_number, raw_line)`` with every record of one file, numbered."""
    con.execute(f"DROP TABLE IF EXISTS {EXACT_LINES_TABLE}")
    if raw_file.source in JSON_LINES_SOURCES:
        numbers, lines = [], []
        with gzip.open(raw_file.path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.rstrip(b"\r\n")
                if text.strip():
                    numbers.append(number)
                    lines.append(text.decode("utf-8", errors="replace"))
        table = pa.table({"line_number": pa.array(numbers, pa.int64()), "raw_line": pa.array(lines, pa.string())})
        con.register("dwh_exact_arrow", table)
        con.execute(f"CREATE TEMP TABLE {EXACT_LINES_TABLE} AS SELECT * FROM dwh_exact_arrow")
        con.unregister("dwh_exact_arrow")
        return
    # One thread so row_number() follows the order of the array's elements.
    threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute("SET threads = 1")
    try:
        con.execute(
            f"CREATE TEMP TABLE {EXACT_LINES_TABLE} AS SELECT row_number() OVER () AS line_number, "
            f"CAST(json AS VARCHAR) AS raw_line FROM read_json_objects({_sql_string(str(raw_file.path))}, "
            "format='array')"
        )
    except Exception as error:  # duckdb.InvalidInputError: the array itself is broken
        raise RawFormatError(f"{raw_file.key}: not valid JSON ({error})") from error
    finally:
        con.execute(f"SET threads = {int(threads)}")


def exact_relation(source: str, raw_file: RawFile) -> str:
    """The lines loaded by :func:`load_exact_lines`, as the same fields the fast path yields."""
    spec = _sql_string(json.dumps(column_spec(source)))
    return (
        "(SELECT parsed.*, raw_file, line_number, raw_line, json_problem FROM ("
        f"SELECT line_number, raw_line, {_sql_string(raw_file.key)} AS raw_file, "
        "CASE WHEN NOT json_valid(raw_line) THEN 'malformed JSON' "
        "WHEN json_type(raw_line) <> 'OBJECT' THEN 'JSON value is not an object' END AS json_problem, "
        f"CASE WHEN json_valid(raw_line) AND json_type(raw_line) = 'OBJECT' THEN json_transform(raw_line, {spec}) "
        f"ELSE json_transform('{{}}', {spec}) END AS parsed "
        f"FROM {EXACT_LINES_TABLE}))"
    )
