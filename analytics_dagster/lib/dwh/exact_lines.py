"""The exact path: the records of one raw file, read in Python from the raw gzip and numbered, as a DuckDB relation.

A file in which the fast path (:mod:`.sources`) finds a problem, or which it cannot read at all, is read again here.
Every record is numbered (Amplitude: line in the file, blank lines included; AppMetrica: position in ``data``) and
keeps its raw text (or its bytes, when they are not UTF-8) for the quarantine; the reading never stops at a bad
record: damage (corrupt gzip, a body cut short) becomes quarantine rows of its own.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from analytics_dagster.lib.dwh.sources import CHUNK_BYTES, GZIP_ERRORS, JSON_LINES_SOURCES, RawFile, column_spec
from analytics_dagster.lib.dwh.sqltext import sql_string

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
            while chunk := handle.read(CHUNK_BYTES):
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
