"""The Logs API client against the fault-injecting server, and the streaming body parser."""

import datetime as dt
import gzip
import io
import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from analytics_dagster import demo
from analytics_dagster.lib.appmetrica import (
    EVENT_FIELDS,
    INSTALLATION_FIELDS,
    SESSION_START_FIELDS,
    AppMetricaError,
    PollPolicy,
)
from analytics_dagster.lib.appmetrica_body import LogsBodyError, LogsBodyParser, iter_records
from analytics_dagster_tests.ingest.fault_server import FaultPlan, FaultServer
from analytics_dagster_tests.ingest.helpers import ListLog, appmetrica_client, gunzip

DAY = dt.date(2026, 3, 15)


@pytest.mark.parametrize(
    ("table", "fields"),
    [("events", EVENT_FIELDS), ("installations", INSTALLATION_FIELDS), ("sessions_starts", SESSION_START_FIELDS)],
)
def test_default_fields_match_what_the_demo_source_writes(tmp_path, table, fields):
    path = tmp_path / f"{table}.json"
    if table == "events":
        demo.write_appmetrica_events_json(DAY, path, events_per_day=3000)
    else:
        demo.write_appmetrica_table_json(table, DAY, path, events_per_day=3000)
    records = json.loads(path.read_bytes())["data"]
    assert records
    assert all(tuple(record) == fields for record in records)


def test_prepare_then_poll_sends_no_cache_on_the_first_request_only(tmp_path):
    log = ListLog()
    with FaultServer(FaultPlan(prepare_polls=3), days=[DAY]) as server, appmetrica_client(server, log) as client:
        result = client.export_day("events", DAY, tmp_path / "events.json.gz")
        records = server.records
        expected = server.expected_appmetrica_body("events", str(DAY))
    assert [r.status for r in records] == [202, 202, 202, 200]
    assert [r.no_cache for r in records] == [True, False, False, False]
    request = records[0].request
    for part in ("application_id=4000001", "date_dimension=receive", "date_since=2026-03-15 00:00:00",
                 "date_until=2026-03-15 23:59:59", "fields=event_name,event_json,"):  # fmt: skip
        assert part in request
    assert gunzip(result.path) == expected
    assert result.records == expected.count(b'"event_name"') and result.polls == 3
    assert log.text().count("being prepared (HTTP 202)") == 3
    assert server.state.token not in log.text()


@pytest.mark.parametrize("fault", ["429", "queue_full", "500", "502", "cut_body", "drop_connection", "stall"])
def test_each_fault_is_retried_and_its_bad_data_never_kept(tmp_path, fault):
    log = ListLog()
    downloading = fault in ("cut_body", "drop_connection")  # these hit the download, after one 202
    plan = FaultPlan(prepare_polls=1, script=("", fault) if downloading else (fault,))
    with FaultServer(plan, days=[DAY]) as server, appmetrica_client(server, log) as client:
        result = client.export_day("events", DAY, tmp_path / "events.json.gz")
        records = server.records
        expected = server.expected_appmetrica_body("events", str(DAY))
    assert gunzip(result.path) == expected
    assert [r.fault for r in records].count(fault) == 1 and records[-1].status == 200
    if downloading:  # the file is ready: the retry must not ask for a new one
        assert [r.status for r in records] == [202, 200, 200] and [r.no_cache for r in records] == [True, False, False]
        assert "the body is incomplete" in log.text()
    else:  # the query was never accepted, so the next request still asks for a fresh file
        assert [r.no_cache for r in records] == [True, True, False]
    if fault == "stall":  # never answered: the client's read timeout ended it
        assert "timed out (ReadTimeout" in log.text()


def test_a_full_queue_is_waited_out(tmp_path):
    # Two queries reach the server together (it holds the first until the second is in flight, at most 30 s: less
    # than the client's read timeout here, so no retry can pass for a second query): one of them must wait.
    plan = FaultPlan(prepare_polls=3, max_queued=1, overlap=2)
    days = [DAY - dt.timedelta(days=n) for n in range(3)]
    log = ListLog()
    server = FaultServer(plan, days=days)
    client = appmetrica_client(server, log, timeout=httpx.Timeout(120.0))
    with server, client, ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda d: client.export_day("events", d, tmp_path / f"{d}.json.gz"), days))
        refused = [r for r in server.records if r.status == 429]
        for day, result in zip(days, results):
            assert gunzip(result.path) == server.expected_appmetrica_body("events", str(day))
    assert refused and "queued queries" in log.text()


def test_queries_in_flight_stay_within_the_limit(tmp_path):
    days = [DAY - dt.timedelta(days=n) for n in range(4)]
    with FaultServer(FaultPlan(prepare_polls=2), days=days) as server:
        with appmetrica_client(server, ListLog(), max_queued_queries=2) as client, ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda d: client.export_day("events", d, tmp_path / f"{d}.json.gz"), days))
        assert server.state.max_open_queries <= 2 and server.state.max_in_flight["appmetrica"] <= 2
        for day in days:
            assert gunzip(tmp_path / f"{day}.json.gz") == server.expected_appmetrica_body("events", str(day))


def test_400_raises_the_api_message(tmp_path):
    plan = FaultPlan(logs_error="Too much data requested, please narrow the date range")
    with FaultServer(plan) as server, appmetrica_client(server, ListLog()) as client:
        with pytest.raises(AppMetricaError, match="HTTP 400\\): Too much data requested, please narrow"):
            client.export_day("events", DAY, tmp_path / "events.json.gz")
        assert len(server.records) == 1


def test_a_query_that_is_never_ready_times_out(tmp_path):
    clock = iter(range(0, 10_000, 10))
    with FaultServer(FaultPlan(prepare_polls=10_000)) as server:
        client = appmetrica_client(server, ListLog(), poll=PollPolicy(1, 5, 60), clock=lambda: next(clock))
        with client, pytest.raises(AppMetricaError, match="not ready after 60s"):
            client.export_day("events", DAY, tmp_path / "events.json.gz")


def test_installations_and_session_starts_come_the_same_way(tmp_path):
    tables = ("installations", "sessions_starts")
    server = FaultServer(FaultPlan(prepare_polls=1), days=[DAY], tables=tables)
    with server, appmetrica_client(server, ListLog()) as client:
        for table in tables:
            result = client.export_day(table, DAY, tmp_path / f"{table}.json.gz")
            assert gunzip(result.path) == server.expected_appmetrica_body(table, str(DAY))
            assert f"/logs/v1/export/{table}.json" in server.records[-1].request


def test_uint64_ids_are_kept_exactly_and_event_json_is_parsed():
    body = (
        b'{"data":[\n{"appmetrica_device_id":"18446744073709551615","session_id":10000000001,'
        b'"event_json":"{\\"sum\\":12345678901234567890,\\"item\\":\\"x\\"}"},\n'
        b'{"appmetrica_device_id":18446744073709551614,"event_json":"","mcc":250}\n]}'
    )
    first, second = list(iter_records(io.BytesIO(body), chunk_size=7))
    assert first["appmetrica_device_id"] == "18446744073709551615" and first["session_id"] == "10000000001"
    assert first["event_json"] == {"sum": 12345678901234567890, "item": "x"}
    assert second == {"appmetrica_device_id": "18446744073709551614", "event_json": {}, "mcc": "250"}


def test_demo_body_parses_with_device_ids_beyond_int64(tmp_path):
    path = tmp_path / "events.json.gz"
    summary = demo.write_appmetrica_events_json(DAY, path, events_per_day=300, gzip_output=True)
    with gzip.open(path) as body:
        records = list(iter_records(body, chunk_size=4096))
    assert len(records) == summary.events
    assert all(isinstance(r["appmetrica_device_id"], str) and isinstance(r["event_json"], dict) for r in records)
    assert any(int(r["appmetrica_device_id"]) > 2**63 for r in records)


def test_parser_gives_the_same_records_whatever_the_chunking():
    body = json.dumps({"data": [{"n": str(i), "text": "é" * i} for i in range(50)]}).encode()
    whole = LogsBodyParser()
    expected = whole.feed(body)
    whole.close()
    parser = LogsBodyParser()
    pieces = [record for i in range(len(body)) for record in parser.feed(body[i : i + 1])]
    parser.close()
    assert pieces == expected and len(expected) == 50


@pytest.mark.parametrize(
    "body, problem",
    [
        (b'{"data":[{"a":"1"},{"a":"2"}', "truncated"),
        (b'{"data":[{"a":"1"},{"a":', "not valid JSON"),
        (b'{"data":[{"a":"1"}]}garbage', "unexpected text"),
        (b"<html>502 Bad Gateway</html>", "does not start with"),
        (b"", "does not start with"),
    ],
)
def test_parser_rejects_incomplete_or_foreign_bodies(body, problem):
    parser = LogsBodyParser()
    with pytest.raises(LogsBodyError, match=problem):
        parser.feed(body)
        parser.close()


def test_empty_day_is_a_valid_body():
    parser = LogsBodyParser()
    assert parser.feed(b'{"data":[\n]}\n') == []
    parser.close()
    assert parser.records == 0
