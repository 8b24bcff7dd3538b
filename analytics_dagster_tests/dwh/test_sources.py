"""Raw file readers: the Logs API body unwrapped for streaming, and line numbers of the exact path."""

from __future__ import annotations

import gzip
import json

import duckdb
import pytest

from analytics_dagster.lib.dwh.sources import RawFile, RawFormatError, load_exact_lines, unwrap_logs_api_body


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


@pytest.mark.parametrize(("body", "message"), [(b'[{"a":"1"}]', "not an AppMetrica Logs API body"),
                                               (b'{"data":[{"a":"1"}', "does not end with")])
def test_other_shapes_are_clear_errors(tmp_path, body, message):
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(body))
    with pytest.raises(RawFormatError, match=message):
        unwrap_logs_api_body(source, tmp_path / "array.json", "raw/appmetrica/x/events.json.gz")


def test_exact_lines_count_blank_lines_and_keep_raw_text(tmp_path):
    path = tmp_path / "h.json.gz"
    path.write_bytes(gzip.compress(b'{"uuid":"a"}\n\n{broken\n{"uuid":"c"}\r\n'))
    con = duckdb.connect()
    load_exact_lines(con, RawFile("amplitude", "raw/amplitude/d/h.json.gz", path, 4))
    assert con.execute("SELECT * FROM dwh_exact_lines ORDER BY line_number").fetchall() == [
        (1, '{"uuid":"a"}'), (3, "{broken"), (4, '{"uuid":"c"}')]


def test_appmetrica_exact_lines_are_positions_in_data(tmp_path):
    path = tmp_path / "array.json"
    path.write_text(json.dumps([{"event_name": f"e{i}"} for i in range(5000)]))
    con = duckdb.connect()
    load_exact_lines(con, RawFile("appmetrica", "raw/appmetrica/d/events.json.gz", path, None))
    numbered = con.execute("SELECT line_number, raw_line::JSON->>'event_name' FROM dwh_exact_lines").fetchall()
    assert numbered == [(i + 1, f"e{i}") for i in range(5000)]
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] > 1  # restored afterwards


def test_a_body_longer_than_a_chunk_with_blank_tail(tmp_path):
    records = [{"event_name": "x" * 100, "n": str(i)} for i in range(30000)]
    source = tmp_path / "events.json.gz"
    source.write_bytes(gzip.compress(json.dumps({"data": records}).encode() + b" " * 5000 + b"\n"))
    unwrap_logs_api_body(source, tmp_path / "array.json", "k")
    assert json.loads((tmp_path / "array.json").read_text()) == records
