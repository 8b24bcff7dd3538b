"""The raw files of a day as DuckDB relations: a fast path for whole files and an exact path with line numbers.

Amplitude files are gzip JSON lines that DuckDB reads directly. An AppMetrica day is one gzip of the Logs API body
``{"data": [...]}``; it is unwrapped once (streaming) into a plain JSON array that DuckDB reads element by element,
so a day of millions of events never sits in memory as one document.

The fast path (``read_json`` over all files, every field as text, unparseable lines as all-NULL rows) has no line
numbers. A file in which it finds a problem, or which it cannot read at all, is read again by the exact path, in
Python from the raw gzip, which numbers every record (Amplitude: line in the file, blank lines included; AppMetrica:
position in ``data``), keeps its raw text (or its bytes, when they are not UTF-8) for the quarantine, and never
stops at a bad record: damage (corrupt gzip, a body cut short) becomes quarantine rows of its own.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

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
_CHUNK = 1 << 20
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
        while chunk := handle.read(_CHUNK):
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
        head = src.read(_CHUNK)
        match = _LOGS_API_PREFIX.match(head)
        if not match:
            raise RawFormatError(f'{key}: not an AppMetrica Logs API body (expected {{"data": [...]}})')
        pending = head[match.end() :]
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


EXACT_LINES_TABLE = "dwh_exact_lines"
_EXACT_SCHEMA = pa.schema(
    [("line_number", pa.int64()), ("raw_line", pa.string()), ("raw_bytes", pa.binary()), ("read_problem", pa.string())]
)


@dataclass
class _ExactLines:
    """The numbered records of one file, as :func:`load_exact_lines` collects them."""

    numbers: list[int] = field(default_factory=list)
    texts: list[str | None] = field(default_factory=list)
    raw_bytes: list[bytes | None] = field(default_factory=list)
    problems: list[str | None] = field(default_factory=list)

    def add(self, number: int, data: bytes | None, problem: str | None = None) -> None:
        text = None
        if data is not None:
            try:
                text = data.decode("utf-8")
                data = None
            except UnicodeDecodeError as error:  # kept as the original bytes, never rewritten
                problem = problem or f"invalid UTF-8: byte {error.start} of the record"
        self.numbers.append(number)
        self.texts.append(text)
        self.raw_bytes.append(data)
        self.problems.append(problem)

    def table(self) -> pa.Table:
        return pa.table(
            [
                pa.array(self.numbers, pa.int64()),
                pa.array(self.texts, pa.string()),
                pa.array(self.raw_bytes, pa.binary()),
                pa.array(self.problems, pa.string()),
            ],
            schema=_EXACT_SCHEMA,
        )


def load_exact_lines(con: Any, raw_file: RawFile) -> None:
    """Fills ``dwh_exact_lines(line_number, raw_line, raw_bytes, read_problem)`` with every record of one file,
    numbered (Amplitude: its line, blank lines counted; AppMetrica: its position in ``data``), read from the raw
    gzip in Python so that nothing stops it: a record that is not UTF-8 keeps its bytes (``raw_bytes``); where
    the gzip data breaks off or is corrupt, or the body is cut short, one more row says so (``read_problem``), and
    lines the manifest counts beyond what could be read are rows of their own, so that the share counts them."""
    lines = _ExactLines()
    if raw_file.source in JSON_LINES_SOURCES:
        _read_lines(raw_file, lines)
    else:
        _read_array_elements(raw_file, lines)
    con.execute(f"DROP TABLE IF EXISTS {EXACT_LINES_TABLE}")
    con.register("dwh_exact_arrow", lines.table())
    con.execute(f"CREATE TEMP TABLE {EXACT_LINES_TABLE} AS SELECT * FROM dwh_exact_arrow")
    con.unregister("dwh_exact_arrow")


def _read_lines(raw_file: RawFile, lines: _ExactLines) -> None:
    number = 0
    try:
        with gzip.open(raw_file.gzip_path, "rb") as handle:
            for number, line in enumerate(handle, start=1):
                data = line.rstrip(b"\r\n")
                if data.strip():
                    lines.add(number, data)
    except GZIP_ERRORS as error:
        problem = f"corrupt gzip data: after line {number} ({type(error).__name__}: {error})"
        lines.add(number + 1, None, problem)
        for missing in range(number + 2, (raw_file.lines or 0) + 1):
            lines.add(missing, None, problem)
        return
    for missing in range(number + 1, (raw_file.lines or 0) + 1):
        lines.add(missing, None, f"missing line: the manifest lists {raw_file.lines} lines, the file has {number}")


_BODY_HEAD = re.compile(rb'\s*\{\s*"data"\s*:\s*\[')
_STRUCTURE = re.compile(rb'["\[\]{},]')
_STRING_STOP = re.compile(rb'["\\]')
_QUARANTINED_BYTES = 1 << 16  # how much of an unreadable rest of a body the quarantine keeps


def _read_array_elements(raw_file: RawFile, lines: _ExactLines) -> None:
    """The elements of a Logs API body's ``data`` array, split by its structure alone (strings and brackets), so a
    malformed element is that element's problem, not the file's."""
    failure: list[str] = []
    count = 0
    for element, problem in split_logs_api_body(_gzip_chunks(raw_file.gzip_path, failure)):
        count += 1
        if problem is not None:
            problem = f"{failure[0]} after element {count - 1}" if failure else problem
            lines.add(count, element, problem)
            for missing in range(count + 1, (raw_file.lines or 0) + 1):  # what the ingest counted beyond it
                lines.add(missing, None, problem)
            return
        lines.add(count, element)
    for missing in range(count + 1, (raw_file.lines or 0) + 1):
        lines.add(missing, None, f"missing record: the manifest counts {raw_file.lines}, the body has {count}")


def _gzip_chunks(path: Path, failure: list[str]) -> Iterator[bytes]:
    """The decompressed bytes of a gzip file; a corrupt or cut-off member ends them, the reason in ``failure``."""
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
    except GZIP_ERRORS as error:
        failure.append(f"corrupt gzip data: ({type(error).__name__}: {error})")


def split_logs_api_body(chunks: Iterator[bytes]) -> Iterator[tuple[bytes | None, str | None]]:
    """Yields ``(element bytes, None)`` for each element of ``{"data": [...]}`` streamed as ``chunks``, then, if
    the body is not such a document or ends before its closing ``]``, one ``(rest, problem)``."""
    buffer = bytearray()
    chunks = iter(chunks)
    head = None
    for chunk in chunks:
        buffer += chunk
        head = _BODY_HEAD.match(buffer)
        if head or len(buffer.lstrip()) > 64:
            break
    if head is None:
        yield bytes(buffer[:_QUARANTINED_BYTES]) or None, 'not a Logs API body: expected {"data": [...]}'
        return
    begin = scan = head.end()  # begin: where the current element starts; scan: where to look on
    openers: list[int] = []  # the brackets open in the current element
    in_string = False
    count = 0  # elements yielded
    while True:
        while True:
            if in_string:
                stop = _STRING_STOP.search(buffer, scan)
                if stop is None or (buffer[stop.start()] == 0x5C and stop.start() + 1 >= len(buffer)):
                    break  # need more bytes (an escape must not be split from what it escapes)
                scan = stop.start() + (2 if buffer[stop.start()] == 0x5C else 1)
                in_string = buffer[stop.start()] == 0x5C
                continue
            token = _STRUCTURE.search(buffer, scan)
            if token is None:
                break
            position, byte = token.start(), buffer[token.start()]
            scan = position + 1
            if byte == 0x22:  # "
                in_string = True
            elif byte in (0x5B, 0x7B):  # [ {
                openers.append(byte)
            elif openers and byte in (0x5D, 0x7D):  # ] }
                if openers.pop() != byte - 2:  # '[' + 2 == ']', '{' + 2 == '}'
                    rest = bytes(buffer[begin:])
                    for chunk in chunks:  # the quarantine keeps the start of what is unreadable
                        if len(rest) >= _QUARANTINED_BYTES:
                            break
                        rest += chunk
                    problem = f"brackets do not match: element {count + 1}; the rest of the body is unreadable"
                    yield rest.strip()[:_QUARANTINED_BYTES], problem
                    return
            elif openers or byte == 0x7D:
                continue  # a comma inside an element; a stray '}' between elements
            else:  # , between elements, or the closing ] of data
                element = bytes(buffer[begin:position]).strip()
                if byte == 0x2C or element:
                    count += 1
                    yield element, None
                if byte == 0x5D:
                    return
                begin = scan
        del buffer[:begin]
        scan -= begin
        begin = 0
        chunk = next(chunks, None)
        if chunk is None:
            rest = bytes(buffer).strip()
            yield rest or None, f'body cut short: it ends after element {count}, before its closing "]}}"'
            return
        buffer += chunk


def exact_relation(source: str, raw_file: RawFile) -> str:
    """The lines loaded by :func:`load_exact_lines`, as the same fields the fast path yields."""
    spec = sql_string(json.dumps(column_spec(source)))
    return (
        "(SELECT parsed.*, raw_file, line_number, raw_line, raw_bytes, json_problem FROM ("
        f"SELECT line_number, raw_line, raw_bytes, {sql_string(raw_file.key)} AS raw_file, "
        "CASE WHEN read_problem IS NOT NULL THEN read_problem "
        "WHEN NOT json_valid(raw_line) THEN 'malformed JSON' "
        "WHEN json_type(raw_line) <> 'OBJECT' THEN 'JSON value is not an object' END AS json_problem, "
        f"CASE WHEN read_problem IS NULL AND json_valid(raw_line) AND json_type(raw_line) = 'OBJECT' "
        f"THEN json_transform(raw_line, {spec}) ELSE json_transform('{{}}', {spec}) END AS parsed "
        f"FROM {EXACT_LINES_TABLE}))"
    )
