"""AppMetrica Logs API client: one day of events (and optionally installations, session starts) per request.

``GET {base}/logs/v1/export/<table>.json?application_id=..&date_since=..&date_until=..&date_dimension=receive
&fields=..`` with ``Authorization: OAuth <token>``. The API prepares the file first:

* 202: the query is queued or being prepared — ask again later with the very same request. The first request
  carries ``Cache-Control: no-cache`` so AppMetrica prepares a fresh file instead of handing back one it built
  earlier (it keeps files for 24 hours, and a day that was still filling then would come back incomplete). Once
  the API has accepted the query, polls go without it: a no-cache poll would restart the preparation.
* 200: the body ``{"data":[...]}`` is streamed to disk as gzip and parsed on the way to prove it complete; a
  truncated body is fetched again, never stored. A body that is complete but malformed (a record that is not a
  JSON object, not valid JSON, or not UTF-8) is an :class:`AppMetricaError` naming the record: a retry would
  bring the same bytes.
* 429: the app's queue is full (AppMetrica queues 3 queries per app) or a rate limit hit: wait and ask again.
* 400: the API's own message is raised as is (unknown field, bad dates, too much data).
* 5xx, timeouts, dropped connections: retried with exponential backoff and jitter.

The body is parsed by :mod:`analytics_dagster.lib.appmetrica_body` while it is saved.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from analytics_dagster.lib.appmetrica_body import LogsBodyError, LogsBodyParser, MalformedBodyError
from analytics_dagster.lib.http_retry import (
    Backoff,
    Log,
    RetriesExhaustedError,
    RetryableError,
    error_for_status,
    error_for_transport,
    parse_retry_after,
)

DEFAULT_BASE_URL = "https://api.appmetrica.yandex.com"
# AppMetrica prepares at most 3 queued queries per application; more are answered with 429.
MAX_QUEUED_QUERIES = 3
DATE_DIMENSIONS = ("receive", "default")

EVENT_FIELDS = (
    "event_name", "event_json", "event_datetime", "event_timestamp", "event_receive_datetime",
    "event_receive_timestamp", "appmetrica_device_id", "installation_id", "profile_id", "session_id",
    "os_name", "os_version", "device_manufacturer", "device_model", "device_type", "device_locale",
    "app_version_name", "app_package_name", "city", "country_iso_code", "connection_type", "operator_name",
    "mcc", "mnc", "google_aid", "ios_ifa", "application_id", "device_ipv6", "ios_ifv", "original_device_model",
    "windows_aid", "app_build_number",
)  # fmt: skip
DEVICE_FIELDS = (
    "os_name", "os_version", "device_manufacturer", "device_model", "device_type", "device_locale",
    "app_version_name", "app_package_name", "city", "country_iso_code",
)  # fmt: skip
INSTALLATION_FIELDS = (
    "application_id", "installation_id", "appmetrica_device_id", "install_datetime", "install_timestamp",
    "install_receive_datetime", "install_receive_timestamp", "is_reinstallation", "match_type", "tracker_name",
    "publisher_name", "click_datetime", "click_timestamp", *DEVICE_FIELDS, "google_aid", "ios_ifa",
)  # fmt: skip
SESSION_START_FIELDS = (
    "application_id", "session_id", "session_start_datetime", "session_start_timestamp",
    "session_start_receive_datetime", "session_start_receive_timestamp", "appmetrica_device_id",
    "installation_id", "profile_id", *DEVICE_FIELDS, "connection_type", "operator_name", "mcc", "mnc",
    "google_aid", "ios_ifa",
)  # fmt: skip
TABLE_FIELDS = {"events": EVENT_FIELDS, "installations": INSTALLATION_FIELDS, "sessions_starts": SESSION_START_FIELDS}


def raw_file_name(table: str) -> str:
    """The raw store's name for a table's body: ``events.json.gz`` etc."""
    return f"{table}.json.gz"


class AppMetricaError(RuntimeError):
    """The Logs API refused a request in a way that no retry fixes (its message is included)."""


@dataclass(frozen=True)
class PollPolicy:
    """How to wait for a query AppMetrica is preparing (202) or cannot queue yet (429 "queue full")."""

    initial_seconds: float = 10.0
    max_seconds: float = 120.0
    timeout_seconds: float = 3 * 3600.0  # the whole prepare-then-download of one query

    def delay(self, poll: int) -> float:
        return min(self.max_seconds, self.initial_seconds * 1.5 ** (poll - 1))


@dataclass
class TableExport:
    table: str
    path: Path
    records: int
    requests: int
    polls: int  # 202 answers: the query being prepared
    retries: int  # faults retried (5xx, timeouts, truncated bodies)
    queue_waits: int = 0  # 429 answers: the app's queue full or a rate limit


class _Preparing(Exception):
    """HTTP 202: the query is being prepared."""


class _IncompleteBody(RetryableError):
    """HTTP 200 whose body broke off: the prepared file exists, so the retry must not ask for a fresh one."""


class _QueueFull(Exception):
    def __init__(self, message: str, retry_after: float | None):
        super().__init__(message)
        self.retry_after = retry_after


class AppMetricaLogsClient:
    """Thread-safe; at most ``max_queued_queries`` queries are queued or downloading at once, across threads."""

    def __init__(
        self,
        token: str,
        application_id: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        date_dimension: str = "receive",
        backoff: Backoff = Backoff(),
        poll: PollPolicy = PollPolicy(),
        timeout: httpx.Timeout = httpx.Timeout(60.0, read=600.0),
        max_queued_queries: int = MAX_QUEUED_QUERIES,
        log: Log = logging.getLogger(__name__),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not token or not application_id:
            raise ValueError("the AppMetrica Logs API needs both an OAuth token and an application id")
        if date_dimension not in DATE_DIMENSIONS:
            raise ValueError(f"date_dimension must be one of {', '.join(DATE_DIMENSIONS)}, not {date_dimension!r}")
        self.application_id = str(application_id)
        self.date_dimension = date_dimension
        self.backoff = backoff
        self.poll = poll
        self.log = log
        self._sleep = sleep
        self._clock = clock
        self._queue_slots = threading.BoundedSemaphore(max_queued_queries)
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"OAuth {token}", "User-Agent": "analytics_dagster (AppMetrica Logs API client)"},
            timeout=timeout,
            follow_redirects=True,
        )

    def __enter__(self) -> AppMetricaLogsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def params(self, table: str, day: dt.date) -> dict[str, str]:
        """The query of one day. Dates are in the application's time zone (its AppMetrica settings)."""
        if table not in TABLE_FIELDS:
            raise ValueError(f"unknown Logs API table {table!r}; expected one of {', '.join(TABLE_FIELDS)}")
        return {
            "application_id": self.application_id,
            "date_since": f"{day} 00:00:00",
            "date_until": f"{day} 23:59:59",
            "date_dimension": self.date_dimension,
            "fields": ",".join(TABLE_FIELDS[table]),
        }

    def export_day(self, table: str, day: dt.date, dest: Path) -> TableExport:
        """Prepares, waits for and downloads one day of ``table`` into ``dest`` (gzip of the exact body)."""
        params = self.params(table, day)
        what = f"AppMetrica {table} {day}"
        path = f"/logs/v1/export/{table}.json"
        deadline = self._clock() + self.poll.timeout_seconds
        requests = polls = queue_waits = failures = 0
        accepted = False  # until AppMetrica has taken the query (202 or 200), ask for a fresh file
        with self._queue_slots:
            while True:
                requests += 1
                headers = {} if accepted else {"Cache-Control": "no-cache"}
                try:
                    records = self._request(path, params, headers, dest, what)
                except _Preparing:
                    accepted = True
                    polls += 1
                    wait = self.poll.delay(polls)
                    self.log.info(f"{what}: being prepared (HTTP 202), poll {polls} in {wait:.1f}s")
                except _QueueFull as full:
                    queue_waits += 1
                    wait = max(self.poll.delay(polls + queue_waits), full.retry_after or 0.0)
                    self.log.warning(f"{full}; waiting {wait:.1f}s for a free place in the queue")
                except RetryableError as error:
                    accepted = accepted or isinstance(error, _IncompleteBody)
                    failures += 1
                    if failures >= self.backoff.max_attempts:
                        raise RetriesExhaustedError(
                            f"{what}: gave up after {failures} failed attempts; last error: {error}", error
                        ) from error
                    wait = self.backoff.delay(failures, error.retry_after)
                    self.log.warning(f"{error}; retry {failures}/{self.backoff.max_attempts - 1} in {wait:.2f}s")
                else:
                    return TableExport(table, dest, records, requests, polls, failures, queue_waits)
                if self._clock() + wait > deadline:
                    raise AppMetricaError(
                        f"{what}: not ready after {self.poll.timeout_seconds:.0f}s ({requests} requests); "
                        "AppMetrica may still be preparing it — run the partition again later"
                    )
                self._sleep(wait)

    def _request(self, path: str, params: dict[str, str], headers: dict[str, str], dest: Path, what: str) -> int:
        try:
            with self._http.stream("GET", path, params=params, headers=headers) as response:
                status = response.status_code
                if status == 202:
                    raise _Preparing()
                if status == 429:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    raise _QueueFull(f"{what}: HTTP 429 ({_message(response)})", retry_after)
                if retryable := error_for_status(response, what):
                    raise retryable
                if status == 400:
                    raise AppMetricaError(f"{what}: the Logs API rejected the request (HTTP 400): {_message(response)}")
                if status in (401, 403):
                    raise AppMetricaError(
                        f"{what}: HTTP {status}, access denied ({_message(response)}); check APPMETRICA_TOKEN and "
                        "APPMETRICA_APPLICATION_ID"
                    )
                if status != 200:
                    raise AppMetricaError(f"{what}: unexpected HTTP {status} ({_message(response)})")
                try:
                    return self._save_body(response, dest, what)
                except httpx.TransportError as error:
                    raise _IncompleteBody(
                        f"{what}: the body is incomplete, fetching it again ({type(error).__name__}: {error})"
                    ) from error
        except httpx.TransportError as error:
            raise error_for_transport(error, what) from error

    @staticmethod
    def _save_body(response: httpx.Response, dest: Path, what: str) -> int:
        parser = LogsBodyParser()
        try:
            with open(dest, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
                    parser.feed(chunk)
            parser.close()
        except MalformedBodyError as error:
            dest.unlink(missing_ok=True)
            raise AppMetricaError(
                f"{what}: the Logs API sent a complete but malformed body: {error}. Fetching it again would bring "
                "the same bytes, so the day is not stored; report it to AppMetrica support"
            ) from error
        except LogsBodyError as error:
            dest.unlink(missing_ok=True)
            raise _IncompleteBody(f"{what}: the body is incomplete, fetching it again ({error})") from error
        return parser.records


def _message(response: httpx.Response) -> str:
    """The API's error message: the ``message`` of its JSON error body, else the body's first 300 characters."""
    body = response.read()[:4000].decode("utf-8", errors="replace").strip()
    try:
        message = json.loads(body).get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message) if message else (body[:300] or "empty body")
