"""Reading landing files (CSV, NDJSON, Parquet) row by row, and validating each row into an event.

Every row keeps its line: the physical line where it starts (CSV, the header being line 1; NDJSON, blank lines
counted) or its position (Parquet, from 1), so an invalid row is reported with file, line and reason. A problem
with one row makes that row invalid; only a file that cannot be read at all (unknown format, not UTF-8, broken
gzip or Parquet, no header) raises :class:`LandingFileError`.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import re
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

FORMATS = {
    ".csv": "csv",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".ndjson.gz": "ndjson",
    ".jsonl.gz": "ndjson",
    ".parquet": "parquet",
}
REQUIRED_COLUMNS = ("event_id", "event_type", "occurred_at")
KNOWN_COLUMNS = (*REQUIRED_COLUMNS, "user_id", "device_id", "session_id", "platform", "properties")
# Imported events get a uuid derived from their event_id, the MD5 of 'import:' || event_id read as a UUID (like
# AppMetrica's, and computed by DuckDB for a whole file at once: EVENT_UUID_SQL): the same event_id always maps to
# the same events_part.uuid, which no Amplitude or AppMetrica event has.
EVENT_UUID_PREFIX = "import:"
EVENT_UUID_SQL = f"CAST(CAST(md5('{EVENT_UUID_PREFIX}' || event_id) AS UUID) AS VARCHAR)"
# Unix times at or above this are milliseconds: as seconds it would be the year 5138.
MILLISECONDS_FROM = 100_000_000_000
_LAST_SECOND = 253_402_300_799  # 9999-12-31 23:59:59, the last time every warehouse stores
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_INTEGER = re.compile(r"-?\d+")
_INT64_MAX = 2**63 - 1
_PLATFORMS = {"web": "Web", "ios": "iOS", "android": "Android"}  # the spelling of the other sources
_EPOCH = dt.datetime(1970, 1, 1)
_PARQUET_BATCH = 10_000


class LandingFileError(ValueError):
    """A landing file that cannot be read at all; names the file."""


def landing_format(name: str) -> str | None:
    """'csv', 'ndjson' or 'parquet' from a file name's extension (case-insensitive); None when unsupported."""
    lowered = name.lower()
    for suffix in sorted(FORMATS, key=len, reverse=True):
        if lowered.endswith(suffix):
            return FORMATS[suffix]
    return None


@dataclass(frozen=True)
class RawRow:
    line: int
    values: dict[str, Any] | None  # column -> value; None when the row itself cannot be parsed (see problem)
    raw: str  # the row as written in the file (CSV fields joined again, a Parquet row as JSON)
    problem: str | None = None


def read_rows(path: Path, fmt: str, name: str) -> Iterator[RawRow]:
    """The rows of a landing file; ``name`` is how errors call the file (its key in the landing zone)."""
    readers = {"csv": _csv_rows, "ndjson": _ndjson_rows, "parquet": _parquet_rows}
    if fmt not in readers:
        raise LandingFileError(f"{name}: unsupported format {fmt!r}")
    try:
        yield from readers[fmt](path, name)
    except UnicodeDecodeError as error:
        raise LandingFileError(f"{name}: not UTF-8 text ({error})") from error
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise LandingFileError(f"{name}: cannot be read ({error})") from error


def _csv_rows(path: Path, name: str) -> Iterator[RawRow]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header_line = handle.readline()
        if not header_line.strip():
            raise LandingFileError(f"{name}: empty file or empty header line (a CSV file starts with its header)")
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = [column.strip() for column in next(reader)]
        except csv.Error as error:
            raise LandingFileError(f"{name}: unreadable header ({error})") from error
        duplicated = sorted({c for c in header if header.count(c) > 1})
        if duplicated or "" in header:
            raise LandingFileError(f"{name}: the header has empty or repeated column names {duplicated or ['']}")
        while True:
            line = reader.line_num + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as error:  # e.g. a quoted field never closed
                yield RawRow(line, None, "", f"malformed CSV: {error}")
                continue
            if not fields:  # a blank line
                continue
            raw = delimiter.join(fields)
            if len(fields) != len(header):
                yield RawRow(line, None, raw, f"{len(fields)} fields where the header has {len(header)}")
                continue
            yield RawRow(line, {c: v for c, v in zip(header, fields, strict=True) if v != ""}, raw)


def _ndjson_rows(path: Path, name: str) -> Iterator[RawRow]:
    opener = gzip.open if name.lower().endswith(".gz") else open
    with opener(path, "rb") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            raw = text.rstrip(b"\r\n").decode("utf-8")
            try:
                values = orjson.loads(text)
            except orjson.JSONDecodeError:
                yield RawRow(line, None, raw, "malformed JSON")
                continue
            if not isinstance(values, dict):
                yield RawRow(line, None, raw, "JSON value is not an object")
                continue
            yield RawRow(line, values, raw)


def _parquet_rows(path: Path, name: str) -> Iterator[RawRow]:
    try:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=_PARQUET_BATCH)
        line = 0
        for batch in batches:
            for values in batch.to_pylist():
                line += 1
                yield RawRow(line, values, orjson.dumps(values, default=str).decode())
    except (pa.ArrowException, OSError) as error:
        raise LandingFileError(f"{name}: not a readable Parquet file ({error})") from error


@dataclass(frozen=True)
class ImportedEvent:
    event_id: str
    event_type: str
    occurred_at: dt.datetime  # naive UTC
    user_id: str | None
    device_id: str | None
    session_id: int | None
    platform: str | None
    properties: bytes  # a JSON object


class InvalidRow(ValueError):
    """Why a row cannot be imported."""


def event_uuid(event_id: str) -> str:
    """The events_part.uuid of an imported event (what EVENT_UUID_SQL computes)."""
    return str(uuid.UUID(hashlib.md5((EVENT_UUID_PREFIX + event_id).encode()).hexdigest()))


def validate(values: dict[str, Any]) -> ImportedEvent:
    """The event of one row; raises :class:`InvalidRow` with the reason."""
    event_id = _text(values, "event_id")
    if event_id is None:
        raise InvalidRow("missing event_id")
    event_type = _text(values, "event_type")
    if event_type is None:
        raise InvalidRow("missing event_type")
    occurred_at = _timestamp(values.get("occurred_at"))
    user_id, device_id = _text(values, "user_id"), _text(values, "device_id")
    if user_id is None and device_id is None:
        raise InvalidRow("neither user_id nor device_id")
    platform = _text(values, "platform")
    return ImportedEvent(
        event_id=event_id,
        event_type=event_type,
        occurred_at=occurred_at,
        user_id=user_id,
        device_id=device_id,
        session_id=_session_id(values.get("session_id")),
        platform=_PLATFORMS.get(platform.lower(), platform) if platform else None,
        properties=_properties(values),
    )


def _text(values: dict[str, Any], column: str) -> str | None:
    value = values.get(column)
    if value is None:
        return None
    if type(value) is str:  # the common case first: most values are text
        return value.strip() or None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    raise InvalidRow(f"{column} is not a text or number: {_shown(value)}")


def _timestamp(value: Any) -> dt.datetime:
    if value is None or value == "":
        raise InvalidRow("missing occurred_at")
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _from_unix(value, value)
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            moment = _from_unix(float(text) if "." in text else int(text), value)
        else:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise InvalidRow(f"occurred_at is not an ISO-8601 time or a Unix time: {value}") from None
    else:
        raise InvalidRow(f"occurred_at is not a time: {_shown(value)}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    if moment < _EPOCH:
        raise InvalidRow(f"occurred_at is before 1970: {value}")
    return moment


def _from_unix(number: int | float, shown: Any) -> dt.datetime:
    seconds = number / 1000 if abs(number) >= MILLISECONDS_FROM else number
    if not 0 <= seconds <= _LAST_SECOND:
        raise InvalidRow(f"occurred_at is outside 1970..9999 as Unix seconds or milliseconds: {shown}")
    return _EPOCH + dt.timedelta(seconds=seconds)


def _session_id(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and -_INT64_MAX - 1 <= value <= _INT64_MAX:
        return value
    raise InvalidRow(f"session_id is not a 64-bit integer: {_shown(value)}")


def _properties(values: dict[str, Any]) -> bytes:
    given = values.get("properties")
    if given is None or given == "":
        properties: dict[str, Any] = {}
    elif isinstance(given, dict):
        properties = dict(given)
    elif isinstance(given, str):
        try:
            properties = orjson.loads(given)
        except orjson.JSONDecodeError:
            raise InvalidRow("properties is not valid JSON") from None
        if not isinstance(properties, dict):
            raise InvalidRow("properties is not a JSON object")
    elif isinstance(given, list) and all(isinstance(item, tuple) and len(item) == 2 for item in given):
        properties = dict(given)  # a Parquet MAP column
    else:
        raise InvalidRow(f"properties is not a JSON object: {_shown(given)}")
    for column, value in values.items():
        if column in KNOWN_COLUMNS or value is None:
            continue
        if column in properties:
            raise InvalidRow(f"property {column!r} is given both as a column and in properties")
        properties[column] = value
    return orjson.dumps(properties, default=str)


def _shown(value: Any) -> str:
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= 80 else text[:79] + "…"
