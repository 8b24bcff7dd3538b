"""Parsing and validating landing files, without Dagster or a warehouse."""

import datetime as dt
import gzip
import hashlib
import json
import uuid
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics_dagster.lib.imports.rows import (
    InvalidRow,
    LandingFileError,
    event_uuid,
    landing_format,
    read_rows,
    validate,
)


def rows(path: Path, fmt: str) -> list:
    return list(read_rows(path, fmt, path.name))


def test_formats_come_from_the_extension():
    assert [landing_format(n) for n in ("a.CSV", "a.ndjson", "a.jsonl.gz", "a.ndjson.gz", "a.parquet")] == [
        "csv",
        "ndjson",
        "ndjson",
        "ndjson",
        "parquet",
    ]
    assert landing_format("a.json") is None and landing_format("a.csv.zip") is None


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_delimiter_is_detected_and_lines_are_physical_lines(tmp_path, delimiter):
    path = tmp_path / "events.csv"
    header = delimiter.join(["event_id", "event_type", "occurred_at", "user_id", "properties", "plan"])
    path.write_text(
        "\ufeff"
        + header
        + "\n"
        + delimiter.join(["e1", "signup", "2026-03-10T10:00:00Z", "u1", '"{""a"": 1}"', "pro"])
        + "\n"
        + "\n"  # a blank line keeps its number
        + delimiter.join(["e2", '"multi\nline"', "2026-03-10T10:00:00Z", "u2", "", ""])
        + "\n"
        + delimiter.join(["e3", "x"])
        + "\n",
        encoding="utf-8",
    )
    parsed = rows(path, "csv")
    assert [(r.line, r.problem) for r in parsed] == [(2, None), (4, None), (6, "2 fields where the header has 6")]
    assert parsed[0].values == {
        "event_id": "e1",
        "event_type": "signup",
        "occurred_at": "2026-03-10T10:00:00Z",
        "user_id": "u1",
        "properties": '{"a": 1}',
        "plan": "pro",
    }
    assert orjson.loads(validate(parsed[0].values).properties) == {"a": 1, "plan": "pro"}
    assert parsed[1].values["event_type"] == "multi\nline" and "properties" not in parsed[1].values


def test_ndjson_gzip_rows_keep_their_line_and_text(tmp_path):
    path = tmp_path / "events.ndjson.gz"
    with gzip.open(path, "wt") as handle:
        handle.write('{"event_id": "e1"}\n\n{oops\n[1, 2]\n')
    parsed = rows(path, "ndjson")
    assert [(r.line, r.problem, r.raw) for r in parsed] == [
        (1, None, '{"event_id": "e1"}'),
        (3, "malformed JSON", "{oops"),
        (4, "JSON value is not an object", "[1, 2]"),
    ]


def test_parquet_rows_are_numbered_and_typed_values_are_accepted(tmp_path):
    path = tmp_path / "events.parquet"
    moment = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    pq.write_table(
        pa.table(
            {
                "event_id": [1, 2],
                "event_type": ["paid", "paid"],
                "occurred_at": [moment, moment],
                "user_id": ["u1", None],
                "device_id": [None, None],
                "session_id": [7, None],
                "amount": [9.5, None],
            }
        ),
        path,
    )
    parsed = rows(path, "parquet")
    assert [r.line for r in parsed] == [1, 2]
    event = validate(parsed[0].values)
    assert (event.event_id, event.occurred_at, event.session_id) == ("1", dt.datetime(2026, 3, 10, 9, 0), 7)
    assert orjson.loads(event.properties) == {"amount": 9.5}
    with pytest.raises(InvalidRow, match="neither user_id nor device_id"):
        validate(parsed[1].values)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-10T12:00:00+03:00", dt.datetime(2026, 3, 10, 9, 0)),
        ("2026-03-10T09:00:00Z", dt.datetime(2026, 3, 10, 9, 0)),
        ("2026-03-10 09:00:00.250", dt.datetime(2026, 3, 10, 9, 0, 0, 250000)),  # naive = UTC
        ("1773133200", dt.datetime(2026, 3, 10, 9, 0)),  # Unix seconds
        (1773133200500, dt.datetime(2026, 3, 10, 9, 0, 0, 500000)),  # Unix milliseconds
        ("1773133200.5", dt.datetime(2026, 3, 10, 9, 0, 0, 500000)),
    ],
)
def test_occurred_at_forms(value, expected):
    event = validate({"event_id": "e", "event_type": "t", "occurred_at": value, "device_id": "d"})
    assert event.occurred_at == expected


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"event_type": "t", "occurred_at": "1773133200", "user_id": "u"}, "missing event_id"),
        ({"event_id": " ", "event_type": "t", "occurred_at": "1773133200", "user_id": "u"}, "missing event_id"),
        ({"event_id": "e", "occurred_at": "1773133200", "user_id": "u"}, "missing event_type"),
        ({"event_id": "e", "event_type": "t", "user_id": "u"}, "missing occurred_at"),
        (
            {"event_id": "e", "event_type": "t", "occurred_at": "yesterday", "user_id": "u"},
            "occurred_at is not an ISO-8601 time or a Unix time: yesterday",
        ),
        (
            {"event_id": "e", "event_type": "t", "occurred_at": "1965-01-01T00:00:00", "user_id": "u"},
            "occurred_at is before 1970: 1965-01-01T00:00:00",
        ),
        ({"event_id": "e", "event_type": "t", "occurred_at": "1773133200"}, "neither user_id nor device_id"),
        (
            {"event_id": "e", "event_type": "t", "occurred_at": "1773133200", "user_id": "u", "session_id": "abc"},
            'session_id is not a 64-bit integer: "abc"',
        ),
        (
            {"event_id": "e", "event_type": "t", "occurred_at": "1773133200", "user_id": "u", "properties": "{oops"},
            "properties is not valid JSON",
        ),
        (
            {"event_id": "e", "event_type": "t", "occurred_at": "1773133200", "user_id": "u", "properties": "[1]"},
            "properties is not a JSON object",
        ),
        (
            {
                "event_id": "e",
                "event_type": "t",
                "occurred_at": "1773133200",
                "user_id": "u",
                "properties": '{"a": 1}',
                "a": "2",
            },
            "property 'a' is given both as a column and in properties",
        ),
        (
            {"event_id": {"x": 1}, "event_type": "t", "occurred_at": "1773133200", "user_id": "u"},
            'event_id is not a text or number: {"x":1}',
        ),
    ],
)
def test_invalid_rows_say_why(values, reason):
    with pytest.raises(InvalidRow) as error:
        validate(values)
    assert str(error.value) == reason


def test_event_uuid_is_the_md5_of_the_event_id_and_platforms_use_the_sources_spelling():
    event = validate(
        {
            "event_id": "order-1",
            "event_type": "t",
            "occurred_at": 1773133200,
            "user_id": "u",
            "platform": "ANDROID",
            "properties": {"nested": {"k": [1]}},
        }
    )
    assert event_uuid("order-1") == str(uuid.UUID(hashlib.md5(b"import:order-1").hexdigest())) != event_uuid("order-2")
    assert event.platform == "Android"
    assert json.loads(event.properties) == {"nested": {"k": [1]}}


@pytest.mark.parametrize(
    ("name", "content", "fmt", "message"),
    [
        ("broken.ndjson.gz", b"not gzip at all", "ndjson", "broken.ndjson.gz: cannot be read"),
        ("latin.csv", "event_id,event_type\ne1,caf\xe9\n".encode("latin-1"), "csv", "latin.csv: not UTF-8 text"),
        ("empty.csv", b"", "csv", "empty.csv: empty file or empty header line"),
        ("dup.csv", b"event_id,event_id\n1,2\n", "csv", "dup.csv: the header has empty or repeated column names"),
        ("bad.parquet", b"PAR1 nonsense", "parquet", "bad.parquet: not a readable Parquet file"),
    ],
)
def test_unreadable_files_raise_naming_the_file(tmp_path, name, content, fmt, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LandingFileError, match=message):
        rows(path, fmt)
