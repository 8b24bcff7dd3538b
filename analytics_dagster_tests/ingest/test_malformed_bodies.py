"""Complete but malformed answers are clear errors at ingest, never retried as if they were cut off.

A body that broke off is fetched again (the fault-server tests cover that); a body that arrived whole and is still
wrong (an element of `data` that is not an object, bytes that are not UTF-8, a ZIP member whose gzip is broken
every time) would come back the same, so the client stops at once with an error naming the record or the member.
A tiny local HTTP server serves the exact bytes of each case.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import random
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

import pytest

from analytics_dagster import demo
from analytics_dagster.lib.amplitude import AmplitudeExportClient, AmplitudeExportError
from analytics_dagster.lib.appmetrica import AppMetricaError, AppMetricaLogsClient
from analytics_dagster.lib.appmetrica_body import LogsBodyError, LogsBodyParser, MalformedBodyError
from analytics_dagster.lib.http_retry import RetriesExhaustedError
from analytics_dagster.lib.local_http import serve_http
from analytics_dagster_tests.ingest.helpers import FAST_BACKOFF, FAST_POLL, ListLog

DAY = dt.date(2026, 3, 15)
GOOD = {"event_name": "screen_view", "event_json": "{}", "appmetrica_device_id": "18446744073709551615"}


@contextmanager
def serving(body: bytes, content_type: str = "application/json") -> Iterator[tuple[str, list[str]]]:
    """Serves ``body`` with HTTP 200 to every GET; yields the base URL and the list of request paths."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    with serve_http(Handler) as url:
        yield url, requests


def appmetrica(url: str) -> AppMetricaLogsClient:
    return AppMetricaLogsClient(
        "token",
        "4000001",
        base_url=url,
        backoff=FAST_BACKOFF,
        poll=FAST_POLL,
        log=ListLog(),
        sleep=lambda seconds: None,
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (json.dumps({"data": [GOOD, 42, GOOD]}).encode(), "record 2 of data is not a JSON object: 42"),
        (
            b'{"data": [' + json.dumps(GOOD).encode() + b', {"event_name": "\xff\xfe"}]}',
            "record 2 of data holds bytes that are not UTF-8",
        ),
        (
            b'{"data": [' + json.dumps(GOOD).encode() + b', {"event_name": tru}, ' + json.dumps(GOOD).encode() + b"]}",
            "record 2 of data is not valid JSON",
        ),
    ],
)
def test_a_complete_malformed_logs_api_body_is_an_error_without_retries(tmp_path, body, message):
    dest = tmp_path / "events.json.gz"
    with (
        serving(body) as (url, requests),
        appmetrica(url) as client,
        pytest.raises(AppMetricaError, match="complete but malformed body") as raised,
    ):
        client.export_day("events", DAY, dest)
    assert message in str(raised.value) and f"AppMetrica events {DAY}" in str(raised.value)
    assert len(requests) == 1  # not fetched again
    assert not dest.exists()  # nothing half-stored


def test_a_cut_logs_api_body_is_still_retried(tmp_path):
    body = json.dumps({"data": [GOOD, GOOD]}).encode()[:-20]
    with (
        serving(body) as (url, requests),
        appmetrica(url) as client,
        pytest.raises(RetriesExhaustedError, match="incomplete"),
    ):
        client.export_day("events", DAY, tmp_path / "events.json.gz")
    assert len(requests) == FAST_BACKOFF.max_attempts


def test_a_zip_member_with_the_same_corrupt_gzip_twice_is_an_error_naming_it(tmp_path):
    good = gzip.compress(b'{"uuid": "a"}\n' * 200)
    broken = bytearray(gzip.compress(b'{"uuid": "b"}\n' * 200))
    broken[len(broken) // 2] ^= 0xFF
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:  # the ZIP's own CRC is right: the member is broken at the source
        zipped.writestr("100001/100001_2026-03-14_21#0.json.gz", good)
        zipped.writestr("100001/100001_2026-03-14_22#0.json.gz", bytes(broken))
    log = ListLog()
    with (
        serving(archive.getvalue(), "application/zip") as (url, requests),
        AmplitudeExportClient(
            "key", "secret", base_url=url, backoff=FAST_BACKOFF, log=log, sleep=lambda seconds: None
        ) as client,
        pytest.raises(AmplitudeExportError, match="sent the same bytes again") as raised,
    ):
        client.export_day(DAY, tmp_path)
    assert "member 100001_2026-03-14_22#0.json.gz of the export ZIP is not valid gzip" in str(raised.value)
    assert len(requests) == 2  # fetched once more, then given up
    assert "member 100001_2026-03-14_22#0.json.gz is corrupt, fetching it again" in log.text()


def test_a_body_cut_anywhere_is_incomplete_never_malformed(tmp_path):
    """Only a malformed body stops the retries: every cut of a valid body must read as cut, whatever it ends on."""
    demo.write_appmetrica_events_json(str(DAY), tmp_path / "events.json", events_per_day=300)
    body = (tmp_path / "events.json").read_bytes()
    rng = random.Random(7)
    for cut in sorted({rng.randrange(1, len(body)) for _ in range(500)}):
        parser = LogsBodyParser()
        with pytest.raises(LogsBodyError) as raised:
            parser.feed(body[:cut])
            parser.close()
        assert not isinstance(raised.value, MalformedBodyError), (cut, raised.value)
