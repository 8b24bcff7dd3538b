"""A local HTTP server speaking the Amplitude Export API and the AppMetrica Logs API, with injected faults.

Data comes from the demo source, so every answer is exactly what the real APIs would send for the demo project:
``/api/2/export?start=..&end=..`` returns a ZIP of the hourly members of exactly that hour window (split windows
work), ``/logs/v1/export/<table>.json`` goes through AppMetrica's prepare (202) then download (200) flow. The days
a test asks for are built before the server starts (``FaultServer(days=...)``), so an answer never waits for data
to be generated, however loaded the machine; a request for any other day is answered 409 with what to do.

Faults are decided per request from a seeded hash of (request, attempt number), so the schedule does not depend
on thread timing; a fault that corrupts content is only chosen for an answer that has content, and at most
``max_faults_per_request`` attempts of one request fail, so a client with enough retries always gets through.
``script`` forces the faults of the first requests, in order, for targeted tests. A "stall" never answers: the
client's read timeout ends it, whatever that timeout is. The server records what it answered (``records``), the
exact bytes of every good answer (``served_amplitude``, ``served_appmetrica``) and the most requests it had in
flight at once (``max_in_flight``); ``overlap`` holds the first requests until that many are in flight together,
so a test of a concurrency limit sees the limit reached without depending on thread timing.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import random
import re
import socket
import tempfile
import threading
import zipfile
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from analytics_dagster import demo
from analytics_dagster.lib.appmetrica import TABLE_FIELDS

AMPLITUDE_FAULTS = ("429", "500", "502", "504", "cut_zip", "drop_connection", "corrupt_gzip", "stall")
APPMETRICA_FAULTS = ("429", "queue_full", "500", "502", "cut_body", "drop_connection", "stall")
_CONTENT_FAULTS = {"cut_zip", "drop_connection", "corrupt_gzip", "cut_body"}
_MEMBER_HOUR = re.compile(r"_(\d{4}-\d{2}-\d{2})_(\d{1,2})#\d+\.json\.gz$")
_LOGS_PATH = re.compile(r"^/logs/v1/export/(events|installations|sessions_starts)\.json$")
_LOGS_FIELDS = {table: set(fields) for table, fields in TABLE_FIELDS.items()}
OVERSIZE_MESSAGE = b"Raw data files were too large to export. Please try a smaller time range."
STALL_LIMIT_SECONDS = 600  # a stalled answer ends when the client hangs up; this only bounds a client that never does


class DayNotBuilt(LookupError):
    """A request for a day the server was not given: answered 409, so the test fails saying which day."""


@dataclass
class FaultPlan:
    rate: float = 0.0  # probability that an attempt of a request gets a fault
    seed: int = 1
    max_faults_per_request: int = 2
    amplitude_faults: tuple[str, ...] = AMPLITUDE_FAULTS
    appmetrica_faults: tuple[str, ...] = APPMETRICA_FAULTS
    script: tuple[str, ...] = ()  # faults of the first requests, in order ("" = no fault)
    # Kinds served at least once each: a kind not served yet is given to the first attempt it fits, instead of a draw
    # (whether a draw lands on a download depends on queue and poll timing, so a seed alone cannot promise a kind).
    every_kind_once: frozenset[str] = frozenset()
    retry_after: int = 1  # Retry-After of injected Amplitude 429s
    max_export_hours: int = 24  # longer Export API windows answer 400 (over 4 GB)
    oversize_hours: frozenset[dt.datetime] = frozenset()  # hours that are over 4 GB even alone
    empty_days: frozenset[str] = frozenset()  # Moscow days without Amplitude data
    prepare_polls: int = 2  # 202 answers before a Logs API query is ready
    max_queued: int = 3  # Logs API queries being prepared at once per app
    logs_error: str | None = None  # when set, every Logs API query is refused with this 400 message
    # Hold the first requests until this many of one API are in flight at once; a client that never gets there
    # is let through after overlap_wait_seconds (and is then seen not to reach its limit).
    overlap: int = 0
    overlap_wait_seconds: float = 30.0


@dataclass
class RequestRecord:
    api: str  # 'amplitude' | 'appmetrica'
    request: str  # path and sorted query
    status: int
    fault: str | None
    no_cache: bool = False


@dataclass
class _Query:
    polls_left: int
    restarts: int = 0
    downloaded: bool = False


@dataclass
class _State:
    plan: FaultPlan
    events_per_day: int
    api_key: str
    secret_key: str
    token: str
    application_id: str
    lock: threading.Lock = field(default_factory=threading.Lock)
    attempts: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    kinds_served: set[tuple[str, str]] = field(default_factory=set)  # (api, fault)
    script: deque[str] = field(default_factory=deque)
    queries: dict[str, _Query] = field(default_factory=dict)
    records: list[RequestRecord] = field(default_factory=list)
    served_amplitude: dict[str, bytes] = field(default_factory=dict)  # member file name -> bytes
    served_appmetrica: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (table, day) -> body
    amplitude_days: dict[dt.date, dict[str, bytes]] = field(default_factory=dict)
    appmetrica_bodies: dict[tuple[str, str], bytes] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=lambda: {"amplitude": 0, "appmetrica": 0})
    max_in_flight: dict[str, int] = field(default_factory=lambda: {"amplitude": 0, "appmetrica": 0})
    max_open_queries: int = 0  # Logs API queries accepted and not yet downloaded, at most at once
    overlap_over: bool = False
    changed: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    def enter(self, api: str) -> None:
        """Counts a request in flight; with ``plan.overlap``, holds it until that many are in flight at once."""
        with self.changed:
            self.in_flight[api] += 1
            self.max_in_flight[api] = max(self.max_in_flight[api], self.in_flight[api])
            self.changed.notify_all()
            if self.plan.overlap and not self.overlap_over:
                self.changed.wait_for(
                    lambda: self.max_in_flight[api] >= self.plan.overlap, timeout=self.plan.overlap_wait_seconds
                )
                self.overlap_over = True  # once: a client that cannot overlap is not held on every request

    def leave(self, api: str) -> None:
        with self.lock:
            self.in_flight[api] -= 1

    def fault_for(self, api: str, request: str, faults: tuple[str, ...], with_content: bool) -> str | None:
        """The fault for this attempt of ``request``; content faults only when the answer would carry content."""
        with self.lock:
            attempt = self.attempts[request] = self.attempts.get(request, 0) + 1
            if self.script:
                return self.script.popleft() or None
            if self.faults.get(request, 0) >= self.plan.max_faults_per_request:
                return None
            candidates = [f for f in faults if with_content or f not in _CONTENT_FAULTS]
            owed = [f for f in candidates if f in self.plan.every_kind_once and (api, f) not in self.kinds_served]
            rng = random.Random(hashlib.sha256(f"{self.plan.seed}|{request}|{attempt}".encode()).digest())
            if owed:
                fault = owed[0]
            elif candidates and rng.random() < self.plan.rate:
                fault = rng.choice(candidates)
            else:
                return None
            self.faults[request] = self.faults.get(request, 0) + 1
            self.kinds_served.add((api, fault))
            return fault

    def build_day(self, day: dt.date, tables: Iterable[str]) -> None:
        """Generates a day's Export API members and Logs API bodies; done before serving, never while a client waits."""
        with tempfile.TemporaryDirectory() as tmp:
            members = {}
            if str(day) not in self.plan.empty_days:
                archive_path = Path(tmp) / "day.zip"
                demo.write_amplitude_export_zip(day, archive_path, events_per_day=self.events_per_day)
                with zipfile.ZipFile(archive_path) as archive:
                    members = {name: archive.read(name) for name in archive.namelist()}
            bodies = {}
            for table in tables:
                body_path = Path(tmp) / f"{table}.json"
                if table == "events":
                    demo.write_appmetrica_events_json(
                        day, body_path, events_per_day=self.events_per_day, application_id=int(self.application_id)
                    )
                else:
                    demo.write_appmetrica_table_json(
                        table, day, body_path, events_per_day=self.events_per_day,
                        application_id=int(self.application_id),
                    )  # fmt: skip
                bodies[(table, str(day))] = body_path.read_bytes()
        with self.lock:
            self.amplitude_days[day] = members
            self.appmetrica_bodies.update(bodies)

    def amplitude_members(self, day: dt.date) -> dict[str, bytes]:
        with self.lock:
            if day not in self.amplitude_days:
                raise DayNotBuilt(f"the test server holds no Amplitude data for {day}: list it in FaultServer(days=)")
            return self.amplitude_days[day]

    def appmetrica_body(self, table: str, day: str) -> bytes:
        with self.lock:
            if (table, day) not in self.appmetrica_bodies:
                raise DayNotBuilt(
                    f"the test server holds no AppMetrica {table} for {day}: list it in FaultServer(days=, tables=)"
                )
            return self.appmetrica_bodies[(table, day)]

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.records.append(record)


def _hour_of_member(name: str) -> dt.datetime:
    match = _MEMBER_HOUR.search(name)
    assert match, name
    return dt.datetime.combine(dt.date.fromisoformat(match[1]), dt.time(int(match[2])))


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in sorted(members.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


def _corrupt(data: bytes, attempt: int) -> bytes:
    """A transient flip of one byte: another attempt flips another byte, as damage in transit would (the same
    damaged bytes twice are a broken export to the client)."""
    damaged = bytearray(data)
    damaged[(len(damaged) // 2 + attempt) % len(damaged)] ^= 0xFF
    return bytes(damaged)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else every response stalls ~40 ms behind delayed ACKs
    server: _Server
    _open_api: str | None = None

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        request = f"{url.path}?{'&'.join(f'{k}={v}' for k, v in sorted(query.items()))}"
        table = _LOGS_PATH.match(url.path)
        api = "amplitude" if url.path == "/api/2/export" else "appmetrica" if table else None
        if api is None:
            return self._send(404, b"not found")
        self.server.state.enter(api)
        self._open_api = api
        try:
            if table:
                self._appmetrica(request, table[1], query)
            else:
                self._amplitude(request, query)
        except DayNotBuilt as missing:
            self._answer(api, request, None, 409, json.dumps({"message": str(missing)}).encode())
        except (BrokenPipeError, ConnectionResetError):  # the client gave up: fine
            pass
        finally:
            self._close_api()

    def _close_api(self) -> None:
        """Counts the request as finished; done before its last bytes go out, since a client that respects a
        concurrency limit may start its next request as soon as it has them."""
        if self._open_api:
            self.server.state.leave(self._open_api)
            self._open_api = None

    # --- Amplitude Export API -----------------------------------------------------------------------------
    def _amplitude(self, request: str, query: dict[str, str]) -> None:
        state = self.server.state
        expected = "Basic " + base64.b64encode(f"{state.api_key}:{state.secret_key}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            return self._answer("amplitude", request, None, 401, b"Invalid api_key or secret_key")
        try:
            first = dt.datetime.strptime(query["start"], "%Y%m%dT%H")
            last = dt.datetime.strptime(query["end"], "%Y%m%dT%H")
        except (KeyError, ValueError):
            return self._answer("amplitude", request, None, 400, b"start and end must be YYYYMMDDTHH")
        hours = int((last - first) / dt.timedelta(hours=1)) + 1
        oversize = hours > state.plan.max_export_hours or any(first <= h <= last for h in state.plan.oversize_hours)
        members = {}
        day = (first + dt.timedelta(hours=3)).date()
        while day <= (last + dt.timedelta(hours=3)).date():
            members.update(
                {n: b for n, b in state.amplitude_members(day).items() if first <= _hour_of_member(n) <= last}
            )
            day += dt.timedelta(days=1)
        fault = state.fault_for(
            "amplitude", request, state.plan.amplitude_faults, with_content=bool(members) and not oversize
        )
        if fault and fault not in _CONTENT_FAULTS:
            return self._fault("amplitude", request, fault)
        if oversize:
            return self._answer("amplitude", request, None, 400, OVERSIZE_MESSAGE)
        if not members:
            return self._answer("amplitude", request, None, 404, b"No data for the requested time range")
        if fault == "corrupt_gzip":
            victim = sorted(members)[len(members) // 2]
            damaged = _corrupt(members[victim], state.attempts[request])
            return self._answer("amplitude", request, fault, 200, _zip({**members, victim: damaged}))
        body = _zip(members)
        if fault:
            return self._answer("amplitude", request, fault, 200, body, content_fault=fault)
        with state.lock:
            state.served_amplitude.update({n.rsplit("/", 1)[-1]: b for n, b in members.items()})
        self._answer("amplitude", request, None, 200, body, content_type="application/zip")

    # --- AppMetrica Logs API ------------------------------------------------------------------------------
    def _appmetrica(self, request: str, table: str, query: dict[str, str]) -> None:
        state = self.server.state
        no_cache = "no-cache" in self.headers.get("Cache-Control", "")
        if self.headers.get("Authorization") != f"OAuth {state.token}":
            return self._answer("appmetrica", request, None, 403, _logs_error(403, "Invalid oauth_token"), no_cache)
        problem = _logs_query_problem(table, query, state)
        if problem:
            return self._answer("appmetrica", request, None, 400, _logs_error(400, problem), no_cache)
        with state.lock:
            known = state.queries.get(request)
            ready = known is not None and known.polls_left == 0 and not no_cache
        fault = state.fault_for("appmetrica", request, state.plan.appmetrica_faults, with_content=ready)
        if fault == "queue_full":
            body = _logs_error(429, "Too many requests: 3 queued queries, wait until one of them is done")
            return self._answer("appmetrica", request, fault, 429, body, no_cache)
        if fault and fault not in _CONTENT_FAULTS:
            return self._fault("appmetrica", request, fault, no_cache)
        with state.lock:
            current = state.queries.get(request)
            if current is None or no_cache:
                preparing = sum(1 for key, q in state.queries.items() if q.polls_left > 0 and key != request)
                if preparing >= state.plan.max_queued:
                    outcome = "queue_full"
                else:
                    restarts = current.restarts + 1 if current else 0
                    state.queries[request] = _Query(polls_left=state.plan.prepare_polls - 1, restarts=restarts)
                    open_queries = sum(1 for q in state.queries.values() if not q.downloaded)
                    state.max_open_queries = max(state.max_open_queries, open_queries)
                    outcome = "accepted"
            elif current.polls_left > 0:
                current.polls_left -= 1
                outcome = "accepted"
            else:
                outcome = "ready"
        if outcome == "queue_full":
            body = _logs_error(429, f"Too many requests: {state.plan.max_queued} queued queries")
            return self._answer("appmetrica", request, None, 429, body, no_cache)
        if outcome == "accepted":
            return self._answer("appmetrica", request, None, 202, b"Wait for result", no_cache, "text/plain")
        body = state.appmetrica_body(table, query["date_since"][:10])
        if fault:
            return self._answer("appmetrica", request, fault, 200, body, no_cache, content_fault=fault)
        with state.lock:
            state.served_appmetrica[(table, query["date_since"][:10])] = body
            state.queries[request].downloaded = True
        self._answer("appmetrica", request, None, 200, body, no_cache, "application/json")

    # --- plumbing ---------------------------------------------------------------------------------------
    def _wait_for_hang_up(self) -> None:
        """Sends nothing until the client closes the connection (its read timeout), or STALL_LIMIT_SECONDS pass."""
        self.close_connection = True
        self.connection.settimeout(STALL_LIMIT_SECONDS)
        try:
            while self.connection.recv(1 << 16):
                pass
        except OSError:  # timed out or reset: either way the stall is over
            pass

    def _fault(self, api: str, request: str, fault: str, no_cache: bool = False) -> None:
        if fault == "stall":
            self.server.state.record(RequestRecord(api, request, 500, fault, no_cache))
            # No longer counted in flight: the client stops counting it at its read timeout, and a count that ended
            # only when this thread noticed would race with the client's next request.
            self._close_api()
            return self._wait_for_hang_up()
        headers = {"Retry-After": str(self.server.state.plan.retry_after)} if fault == "429" else {}
        self._answer(api, request, fault, int(fault), f"injected {fault}".encode(), no_cache, headers=headers)

    def _answer(
        self,
        api: str,
        request: str,
        fault: str | None,
        status: int,
        body: bytes,
        no_cache: bool = False,
        content_type: str = "application/json",
        *,
        content_fault: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.server.state.record(RequestRecord(api, request, status, fault, no_cache))
        if content_fault in ("cut_zip", "cut_body"):  # a well-formed HTTP answer whose content stops halfway
            self._send(status, body[: len(body) // 2], content_type, headers)
        elif content_fault == "drop_connection":  # the connection dies mid-body
            self._send(status, body[: len(body) // 2], content_type, headers, declared=len(body))
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(status, body, content_type, headers)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "text/plain",
        headers: dict[str, str] | None = None,
        declared: int | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if declared is None else declared))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self._close_api()
        self.wfile.write(body)
        self.wfile.flush()


def _logs_error(code: int, message: str) -> bytes:
    return json.dumps({"errors": [{"error_type": "invalid_parameter", "message": message}], "code": code,
                       "message": message}).encode()  # fmt: skip


def _logs_query_problem(table: str, query: dict[str, str], state: _State) -> str | None:
    if state.plan.logs_error:
        return state.plan.logs_error
    if query.get("application_id") != state.application_id:
        return f"Access to application {query.get('application_id')} is denied"
    unknown = sorted(set(query.get("fields", "").split(",")) - _LOGS_FIELDS[table])
    if unknown:
        return f"Unknown fields: {', '.join(unknown)}"
    if query.get("date_dimension", "default") not in ("default", "receive"):
        return f"Wrong date_dimension: {query['date_dimension']}"
    since, until = query.get("date_since", ""), query.get("date_until", "")
    if not (since.endswith(" 00:00:00") and until == since[:10] + " 23:59:59"):
        return "This test server serves whole days only (date_since D 00:00:00, date_until D 23:59:59)"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class FaultServer:
    """``with FaultServer(plan) as server:`` serves on ``server.url`` until the block ends."""

    def __init__(
        self,
        plan: FaultPlan | None = None,
        *,
        days: Iterable[dt.date | str] = (),
        tables: Iterable[str] = ("events",),
        events_per_day: int = 300,
        api_key: str = "test-api-key",
        secret_key: str = "test-secret-key",
        token: str = "test-oauth-token",
        application_id: str = "4000001",
    ):
        """Builds the data of ``days`` (Amplitude, and the Logs API ``tables``) before anything is served."""
        plan = plan or FaultPlan()
        self.state = _State(plan, events_per_day, api_key, secret_key, token, application_id, script=deque(plan.script))
        tables = tuple(tables)
        for day in days:
            self.state.build_day(day if isinstance(day, dt.date) else dt.date.fromisoformat(day), tables)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-server", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    @property
    def records(self) -> list[RequestRecord]:
        with self.state.lock:
            return list(self.state.records)

    def records_of(self, api: str) -> list[RequestRecord]:
        return [r for r in self.records if r.api == api]

    @property
    def served_amplitude(self) -> dict[str, bytes]:
        """Every Export API member sent in a good answer: file name -> bytes."""
        with self.state.lock:
            return dict(self.state.served_amplitude)

    @property
    def served_appmetrica(self) -> dict[tuple[str, str], bytes]:
        """Every Logs API body sent in a good answer: (table, day) -> body."""
        with self.state.lock:
            return dict(self.state.served_appmetrica)

    def fault_share(self, records: Iterable[RequestRecord] | None = None) -> float:
        records = list(self.records if records is None else records)
        return sum(1 for r in records if r.fault) / max(1, len(records))

    def expected_amplitude_day(self, day: str) -> dict[str, bytes]:
        """The member files of Moscow day ``day`` as the API holds them (file name -> bytes)."""
        members = self.state.amplitude_members(dt.date.fromisoformat(day))
        return {name.rsplit("/", 1)[-1]: data for name, data in members.items()}

    def expected_appmetrica_body(self, table: str, day: str) -> bytes:
        return self.state.appmetrica_body(table, day)
