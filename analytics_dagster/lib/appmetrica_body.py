"""Streaming parser of AppMetrica Logs API bodies ``{"data":[{...}, ...]}``.

AppMetrica's ids are unsigned 64-bit (``appmetrica_device_id`` goes past 2**63): :func:`iter_records` keeps every
value as the exact string the API sent (numbers, if any, as their exact decimal text) and parses ``event_json``.
A truncated body is a :class:`LogsBodyError`; a complete but malformed one (a record that is not a JSON object, not
valid JSON, or not UTF-8) is a :class:`MalformedBodyError`.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any


class LogsBodyError(ValueError):
    """A Logs API body that is not a complete ``{"data":[...]}`` document (truncated or malformed)."""


class MalformedBodyError(LogsBodyError):
    """A Logs API body that is complete but malformed (a record that is not a JSON object, not valid JSON or not
    UTF-8): fetching it again would bring the same bytes, so it is an error, not a retry."""


_BODY_START = re.compile(r'\s*\{\s*"data"\s*:\s*\[')
_BODY_END = re.compile(r"\s*\]\s*\}\s*")
_DOCUMENT_END = re.compile(r"\]\s*\}\s*$")
_NEXT_RECORD = re.compile(r'\}\s*,\s*\{\s*"')
_SEPARATOR = re.compile(r"\s*,?\s*")


class LogsBodyParser:
    """Incremental parser of a Logs API JSON body: feed it chunks, get the records out as they complete.

    Memory stays bounded by the chunk size plus one record, whatever the size of the body. ``close()`` raises
    :class:`LogsBodyError` unless the document ended properly, which is how a truncated download is caught.
    """

    _MAX_RECORD_CHARS = 16 << 20  # a record this long without parsing is malformed, not merely incomplete
    _COMPACT_AT = 1 << 20

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._json = json.JSONDecoder()
        self._buffer = ""
        self._pos = 0
        self._state = "start"  # start -> records -> done
        self.records = 0

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        try:
            self._buffer += self._decoder.decode(chunk)
        except UnicodeDecodeError as error:  # the records before the bad bytes, to name the record holding them
            self._buffer += error.object[: error.start].decode("utf-8")
            self._drain(final=False)
            raise MalformedBodyError(
                f"record {self.records + 1:,} of data holds bytes that are not UTF-8 ({error.reason})"
            ) from None
        return self._drain(final=False)

    def close(self) -> None:
        try:
            self._buffer += self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise LogsBodyError(f"the body ends inside a UTF-8 character after {self.records:,} records") from None
        self._drain(final=True)
        if self._state != "done":
            raise LogsBodyError(f"the body ends after {self.records:,} records without closing ']}}' (truncated)")

    def _complete_around(self, position: int) -> bool:
        """Whether a record that fails to parse at ``position`` sits inside a whole document, so it is malformed,
        not cut off: the body ends like a document and another record starts after it (``}, {"`` cannot occur
        inside a JSON string, whose quotes are escaped; a cut body has nothing after its broken last record)."""
        return bool(_DOCUMENT_END.search(self._buffer[-64:])) and bool(_NEXT_RECORD.search(self._buffer, position + 1))

    def _drain(self, final: bool) -> list[dict[str, Any]]:
        out = []
        buffer = self._buffer
        if self._state == "start":
            opened = _BODY_START.match(buffer, self._pos)
            if not opened:
                if final or len(buffer) - self._pos > 64 or buffer[self._pos :].strip()[:1] not in ("", "{"):
                    raise LogsBodyError(f'the body does not start with {{"data":[ (got {buffer[:60]!r})')
                return out
            self._pos = opened.end()
            self._state = "records"
        while self._state == "records":
            separator = _SEPARATOR.match(buffer, self._pos)
            position = separator.end()
            if position >= len(buffer):
                break
            if buffer[position] == "]":
                closed = _BODY_END.fullmatch(buffer, position)
                if closed:
                    self._state = "done"
                    self._pos = len(buffer)
                elif final or len(buffer) - position > 64:
                    raise LogsBodyError(f"unexpected text after the last record: {buffer[position : position + 60]!r}")
                break
            try:
                record, end = self._json.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                message = f"record {self.records + 1:,} of data is not valid JSON ({error.msg})"
                if len(buffer) - position > self._MAX_RECORD_CHARS or (final and self._complete_around(position)):
                    raise MalformedBodyError(message) from None
                if final:
                    raise LogsBodyError(f"{message}: the body is cut short") from None
                break
            if not isinstance(record, dict):
                raise MalformedBodyError(
                    f"record {self.records + 1:,} of data is not a JSON object: {json.dumps(record)[:60]}"
                )
            out.append(record)
            self.records += 1
            self._pos = end
        if self._pos >= self._COMPACT_AT:
            self._buffer, self._pos = buffer[self._pos :], 0
        return out


def normalize_record(record: dict[str, Any]) -> dict[str, Any]:
    """Values as exact strings (uint64 ids survive: a number becomes its decimal text), ``event_json`` parsed."""
    out: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (int, float)):
            value = str(value)
        out[name] = value
    if "event_json" in out:
        out["event_json"] = parse_event_json(out["event_json"])
    return out


def parse_event_json(text: str | None) -> dict[str, Any]:
    """``event_json`` is a JSON object sent as a string; empty means no attributes."""
    if not text:
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"event_json is not a JSON object: {text[:80]!r}")
    return value


def iter_records(stream: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[dict[str, Any]]:
    """Normalized records of a Logs API body read from a binary stream (e.g. ``gzip.open(path)``), streaming."""
    parser = LogsBodyParser()
    while chunk := stream.read(chunk_size):
        for record in parser.feed(chunk):
            yield normalize_record(record)
    parser.close()
