"""Raw file readers: the Logs API body unwrapped for streaming, and line numbers of the exact path."""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest

from analytics_dagster.lib.dwh.exact_lines import load_exact_lines, split_logs_api_body
from analytics_dagster.lib.dwh.sources import RawFile, RawFormatError, unwrap_logs_api_body


@pytest.mark.parametrize(
    "body",
    [
        b'{"data":[{"a":"1"},{"a":"2"}]}',
        b'  {\n  "data" : [\n    {"a": "1"},\n    {"a": "2"}\n  ]\n}\n\n',
        b'{"data":[\n{"a":"1"},\n{"a":"2"}\n]}\n',
    ],
)
def test_a_logs_api_body_becomes_a_json_array(tmp_path, body):
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(body))
    unwrap_logs_api_body(source, tmp_path / "array.json", "raw/appmetrica/x/events.json.gz")
    assert json.loads((tmp_path / "array.json").read_text()) == [{"a": "1"}, {"a": "2"}]


def test_an_empty_day_is_an_empty_array(tmp_path):
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(b'{"data":[]}'))
    unwrap_logs_api_body(source, tmp_path / "array.json", "k")
    assert json.loads((tmp_path / "array.json").read_text()) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [(b'[{"a":"1"}]', "not an AppMetrica Logs API body"), (b'{"data":[{"a":"1"}', "does not end with")],
)
def test_other_shapes_are_clear_errors(tmp_path, body, message):
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(body))
    with pytest.raises(RawFormatError, match=message):
        unwrap_logs_api_body(source, tmp_path / "array.json", "raw/appmetrica/x/events.json.gz")


def test_exact_lines_count_blank_lines_and_keep_raw_text(tmp_path):
    path = tmp_path / "h.json.gz"
    path.write_bytes(gzip.compress(b'{"uuid":"a"}\n\n{broken\n{"uuid":"c"}\r\n{"uuid":"\xff\xfe"}\n'))
    con = duckdb.connect()
    load_exact_lines(con, RawFile("amplitude", "raw/amplitude/d/h.json.gz", path, path, 5))
    assert con.execute("SELECT * FROM dwh_exact_lines ORDER BY line_number").fetchall() == [
        (1, '{"uuid":"a"}', None, None),
        (3, "{broken", None, None),
        (4, '{"uuid":"c"}', None, None),
        (5, None, b'{"uuid":"\xff\xfe"}', "invalid UTF-8: byte 9 of the record"),
    ]


def test_a_corrupt_gzip_is_read_up_to_the_damage_and_the_lost_lines_counted(tmp_path):
    path = tmp_path / "h.json.gz"
    data = gzip.compress(b"".join(b'{"uuid":"%d","pad":"%s"}\n' % (i, b"x" * (i % 97)) for i in range(2000)))
    path.write_bytes(data[: len(data) // 2])
    con = duckdb.connect()
    load_exact_lines(con, RawFile("amplitude", "raw/amplitude/d/h.json.gz", path, path, 2000))
    read, lost, first_lost, problem = con.execute(
        "SELECT count(raw_line), count(*) - count(raw_line), min(line_number) FILTER (raw_line IS NULL), "
        "any_value(read_problem) FROM dwh_exact_lines"
    ).fetchone()
    assert read > 0 and read + lost == 2000 and first_lost == read + 1
    assert problem.startswith(f"corrupt gzip data: after line {read} (EOFError")


def test_appmetrica_exact_lines_are_positions_in_data(tmp_path):
    path = tmp_path / "events.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"data": [{"event_name": f"e{i}"} for i in range(5000)]}).encode()))
    con = duckdb.connect()
    load_exact_lines(con, RawFile("appmetrica", "raw/appmetrica/d/events.json.gz", path, None, None))
    numbered = con.execute(
        "SELECT line_number, raw_line::JSON->>'event_name' FROM dwh_exact_lines ORDER BY line_number"
    ).fetchall()
    assert numbered == [(i + 1, f"e{i}") for i in range(5000)]


@pytest.mark.parametrize(
    ("body", "elements"),
    [
        (
            b'{"data": [{"a": "x\\"y,]}", "b": [1, {"c": 2}]}, 42 , "s", {}]}',
            [b'{"a": "x\\"y,]}", "b": [1, {"c": 2}]}', b"42", b'"s"', b"{}"],
        ),
        (b'{"data": []}', []),
        (
            b'{"data": [{"a": 1}, {"b',
            [b'{"a": 1}', (b'{"b', 'body cut short: it ends after element 1, before its closing "]}"')],
        ),
        (
            b'{"data": [{"a": 1}, {"b": ]}, {"c": 1}]}',
            [
                b'{"a": 1}',
                (b'{"b": ]}, {"c": 1}]}', "brackets do not match: element 2; the rest of the body is unreadable"),
            ],
        ),
        (b'[{"a": 1}]', [(b'[{"a": 1}]', 'not a Logs API body: expected {"data": [...]}')]),
    ],
)
def test_a_logs_api_body_splits_into_elements_by_structure_alone(body, elements):
    # fed one byte at a time, so every split of a string, an escape or a bracket across chunks is exercised
    got = [
        element if problem is None else (element, problem)
        for element, problem in split_logs_api_body(body[i : i + 1] for i in range(len(body)))
    ]
    assert got == elements


def test_a_body_longer_than_a_chunk_with_blank_tail(tmp_path):
    records = [{"event_name": "x" * 100, "n": str(i)} for i in range(30000)]
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(json.dumps({"data": records}).encode() + b" " * 5000 + b"\n"))
    unwrap_logs_api_body(source, tmp_path / "array.json", "k")
    assert json.loads((tmp_path / "array.json").read_text()) == records
