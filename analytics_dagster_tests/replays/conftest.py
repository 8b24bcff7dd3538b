"""Fixtures of the replay stage's tests: a constructed warehouse day, and local OpenAI-compatible and Drive servers."""

from __future__ import annotations

import base64
import datetime as dt
import email
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from analytics_dagster.lib.local_http import serve_http
from analytics_dagster.lib.moscow_time import moscow_day_of
from analytics_dagster.lib.replays.sessions import ReplaySession, SessionEvent
from analytics_dagster.lib.replays.synthetic import synthetic_sessions
from analytics_dagster.lib.warehouse import Warehouse
from analytics_dagster_tests.google_credentials import write_service_account_key

DAY = dt.date(2026, 3, 15)
PARTITION = DAY.isoformat()


# ---------------------------------------------------------------------------------------------------------------
# A constructed warehouse day
# ---------------------------------------------------------------------------------------------------------------
def _properties(event: SessionEvent) -> dict:
    """The property bag a tracked event would carry (the inverse of ``session_event``)."""
    named = {
        "page_path": event.page,
        "page_title": event.title,
        "button_text": event.element,
        "error_message": event.error,
    }
    return {**{k: v for k, v in named.items() if v is not None}, **event.details}


def warehouse_rows(
    session: ReplaySession, partition_date: dt.date, *, replay: bool = True, replay_on_every_event: bool = True
) -> tuple[list[dict], list[dict]]:
    """Rows of events_part and tmp_event_properties for a session (source amplitude)."""
    events, properties = [], []
    for position, event in enumerate(session.events):
        row_uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{session.replay_id}#{position}"))
        carries_replay = replay and (replay_on_every_event or position % 2 == 0)
        events.append(
            {
                "uuid": row_uuid,
                "source": "amplitude",
                "partition_date": partition_date,
                "event_type": event.event_type,
                "event_time": event.time,
                "event_date": moscow_day_of(event.time),
                "user_key": session.user_key,
                "user_id": session.user_id,
                "device_id": session.device_id,
                "session_id": session.session_id,
                "event_id": position + 1,
                "platform": "Web",
                "country": "Russia",
                "session_replay_id": session.replay_id if carries_replay else None,
            }
        )
        properties.append(
            {
                "uuid": row_uuid,
                "source": "amplitude",
                "partition_date": partition_date,
                "event_time": event.time,
                "event_type": event.event_type,
                "event_properties": json.dumps(_properties(event), ensure_ascii=False),
            }
        )
    return events, properties


@dataclass
class ConstructedDay:
    """Which sessions the day holds and which of them belong to its replays."""

    expected: dict[str, str] = field(default_factory=dict)  # replay id -> behaviour group
    excluded: list[str] = field(default_factory=list)  # replay ids present but belonging to another day
    event_counts: dict[str, int] = field(default_factory=dict)


def load_constructed_day(warehouse: Warehouse, sessions_per_group: int = 3) -> ConstructedDay:
    """Replay sessions of known groups on DAY, plus sessions that must not be picked up for DAY."""
    warehouse.execute_file("dwh/ddl/events_part.sql")
    warehouse.execute_file("dwh/ddl/tmp_event_properties.sql")
    generated = synthetic_sessions(4 * sessions_per_group + 4, seed=11, day=DAY)
    day = ConstructedDay()
    rows: dict[dt.date, tuple[list, list]] = {}

    def add(session: ReplaySession, partition: dt.date, **kwargs) -> None:
        events, properties = warehouse_rows(session, partition, **kwargs)
        rows.setdefault(partition, ([], []))
        rows[partition][0].extend(events)
        rows[partition][1].extend(properties)

    for index, (group, session) in enumerate(generated[: 4 * sessions_per_group]):
        # Every other session has the replay property on only some of its events: all events still count.
        add(session, DAY, replay_on_every_event=index % 2 == 0)
        day.expected[session.replay_id] = group
        day.event_counts[session.replay_id] = session.event_count
    straddling, no_replay, next_day_only, _ = (s for _, s in generated[4 * sessions_per_group :])
    # A session whose first events arrived the day before belongs to that day, even with events uploaded on DAY.
    half = len(straddling.events) // 2
    earlier = ReplaySession(**{**vars(straddling), "events": straddling.events[:half]})
    later = ReplaySession(**{**vars(straddling), "events": straddling.events[half:]})
    add(earlier, DAY - dt.timedelta(days=1))
    add(later, DAY)
    add(no_replay, DAY, replay=False)
    add(next_day_only, DAY + dt.timedelta(days=1))
    day.excluded += [straddling.replay_id, next_day_only.replay_id]
    for partition, (events, properties) in rows.items():
        warehouse.replace_partition(
            "events_part", pd.DataFrame(events), partition_column="partition_date", partition_value=partition
        )
        warehouse.replace_partition(
            "tmp_event_properties",
            pd.DataFrame(properties),
            partition_column="partition_date",
            partition_value=partition,
        )
    return day


# ---------------------------------------------------------------------------------------------------------------
# A local OpenAI-compatible server
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class FakeOpenAI:
    base_url: str
    requests: list[dict] = field(default_factory=list)  # every request body, failures included
    fail_with: list[int] = field(default_factory=list)  # statuses to answer before succeeding, in order
    lock: threading.Lock = field(default_factory=threading.Lock)

    def chat_requests(self) -> list[dict]:
        return [r for r in self.requests if r.get("_status") == 200]


def _answer(body: dict) -> str:
    user = body["messages"][-1]["content"]
    if isinstance(user, list):
        images = [p for p in user if p.get("type") == "image_url"]
        return f"The screens show a checkout page with an error banner ({len(images)} screenshots)."
    found = re.search(r"Distinctive terms: ([^.\n]*)", user)
    terms = found.group(1) if found else user[:40]
    return f"Struggle around {terms.split(',')[0]}\nServer summary: users hit {terms}."


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    server_state: FakeOpenAI

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with server_state.lock:
                status = server_state.fail_with.pop(0) if server_state.fail_with else 200
                server_state.requests.append(
                    {**body, "_status": status, "_path": self.path, "_auth": self.headers.get("Authorization")}
                )
            if status != 200:
                payload = json.dumps({"error": {"message": "slow down", "type": "rate_limit"}}).encode()
                self.send_response(status)
                self.send_header("retry-after-ms", "20")
            else:
                answer = _answer(body)
                payload = json.dumps(
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion",
                        "created": 1773532800,
                        "model": body["model"],
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                    }
                ).encode()
                self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format, *args) -> None:  # noqa: A002
            """Quiet: the test asserts on the recorded requests."""

    with serve_http(Handler) as base:
        server_state = FakeOpenAI(base_url=f"{base}/v1")
        yield server_state


# ---------------------------------------------------------------------------------------------------------------
# A local Google Drive v3 server (files.list / create / multipart upload / update / delete, and the token endpoint)
# ---------------------------------------------------------------------------------------------------------------
@dataclass
class FakeDrive:
    api_url: str
    token_uri: str
    root_folder: str = "root-folder-id"
    files: dict[str, dict] = field(default_factory=dict)  # id -> {name, mimeType, parents, content, trashed}
    calls: list[tuple[str, str]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # statuses answered instead; a 429 asks for Retry-After: 7
    sleeps: list[float] = field(default_factory=list)  # waits of a client given sleeps.append as its sleep
    tokens_issued: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def children(self, parent: str) -> list[dict]:
        return [f for f in self.files.values() if parent in f["parents"] and not f["trashed"]]


_QUERY_TERMS = {
    "parent": re.compile(r"'((?:[^'\\]|\\.)*)' in parents"),
    "name": re.compile(r"name\s*=\s*'((?:[^'\\]|\\.)*)'"),
    "mimeType": re.compile(r"mimeType\s*=\s*'((?:[^'\\]|\\.)*)'"),
}


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _multipart(body: bytes, content_type: str) -> tuple[dict, bytes]:
    """The JSON metadata and the media of a multipart/related upload (parsed as MIME, whatever its line endings)."""
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    assert message.get_content_type() == "multipart/related", content_type
    metadata_part, media_part = message.get_payload()
    assert metadata_part.get_content_type() == "application/json"
    return json.loads(metadata_part.get_payload(decode=True)), media_part.get_payload(decode=True)


@pytest.fixture
def fake_drive() -> Iterator[FakeDrive]:
    state: FakeDrive
    page_size = 2  # small pages, so listing has to follow nextPageToken

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def _send(self, status: int, payload: dict | None = None) -> None:
            data = json.dumps(payload or {}).encode()
            self.send_response(status)
            if status == 429:
                self.send_header("Retry-After", "7")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _authorized(self) -> bool:
            if self.headers.get("Authorization") != "Bearer drive-test-token":
                self._send(401, {"error": {"message": "unauthenticated"}})
                return False
            if state.fail_next:
                self._send(state.fail_next.pop(0), {"error": {"message": "backend error"}})
                return False
            return True

        def do_POST(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            body = self._body()
            with state.lock:
                state.calls.append(("POST", url.path))
                if url.path == "/token":
                    form = parse_qs(body.decode())
                    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
                    claims = json.loads(base64.urlsafe_b64decode(form["assertion"][0].split(".")[1] + "=="))
                    assert "https://www.googleapis.com/auth/drive" in claims["scope"]
                    state.tokens_issued += 1
                    return self._send(
                        200, {"access_token": "drive-test-token", "expires_in": 3600, "token_type": "Bearer"}
                    )
                if not self._authorized():
                    return None
                if url.path == "/drive/v3/files":
                    metadata, content = json.loads(body), b""
                elif url.path == "/upload/drive/v3/files" and parse_qs(url.query)["uploadType"] == ["multipart"]:
                    metadata, content = _multipart(body, self.headers["Content-Type"])
                else:
                    return self._send(404)
                file_id = f"id{len(state.files) + 1}"
                state.files[file_id] = {
                    "id": file_id,
                    "name": metadata["name"],
                    "mimeType": metadata.get("mimeType", ""),
                    "parents": metadata.get("parents", []),
                    "content": content,
                    "trashed": False,
                }
                return self._send(200, {"id": file_id})

        def do_PATCH(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            body = self._body()
            with state.lock:
                state.calls.append(("PATCH", url.path))
                if not self._authorized():
                    return None
                file_id = url.path.rsplit("/", 1)[-1]
                if not url.path.startswith("/upload/drive/v3/files/") or file_id not in state.files:
                    return self._send(404)
                metadata, content = _multipart(body, self.headers["Content-Type"])
                assert "parents" not in metadata, "files.update takes addParents/removeParents, never parents"
                state.files[file_id]["content"] = content
                return self._send(200, {"id": file_id})

        def do_DELETE(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            with state.lock:
                state.calls.append(("DELETE", url.path))
                if not self._authorized():
                    return None
                file_id = url.path.rsplit("/", 1)[-1]
                if state.files.pop(file_id, None) is None:
                    return self._send(404)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            with state.lock:
                state.calls.append(("GET", url.path))
                if not self._authorized():
                    return None
                params = parse_qs(url.query)
                query = params["q"][0]
                assert "trashed=false" in query.replace(" ", "")
                found = {k: _unescape(m.group(1)) for k, p in _QUERY_TERMS.items() if (m := p.search(query))}
                matching = [
                    f
                    for f in state.files.values()
                    if not f["trashed"]
                    and found["parent"] in f["parents"]
                    and ("name" not in found or f["name"] == found["name"])
                    and ("mimeType" not in found or f["mimeType"] == found["mimeType"])
                ]
                start = int(params.get("pageToken", ["0"])[0])
                page = matching[start : start + page_size]
                payload = {"files": [{k: f[k] for k in ("id", "name", "mimeType")} for f in page]}
                if start + page_size < len(matching):
                    payload["nextPageToken"] = str(start + page_size)
                return self._send(200, payload)

        def log_message(self, format, *args) -> None:  # noqa: A002
            """Quiet: the test asserts on the recorded calls and files."""

    with serve_http(Handler) as base:
        state = FakeDrive(api_url=base, token_uri=f"{base}/token")
        yield state


@pytest.fixture
def service_account_file(tmp_path: Path, fake_drive: FakeDrive) -> Path:
    """A service-account key file (a fresh RSA key) whose token_uri is the fake Drive's token endpoint."""
    return write_service_account_key(tmp_path / "service-account.json", fake_drive.token_uri)
