"""Real Chromium screenshots: demo replay pages, bounded concurrency, failures recorded, and an Amplitude-like player
behind a login (a Playwright storage state), all served from 127.0.0.1."""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from analytics_dagster.defs.replays.resources import AmplitudeReplayResource
from analytics_dagster.lib.local_http import serve_http
from analytics_dagster.lib.replays.browser import (
    DEMO_PLAYER,
    BrowserSettings,
    ReplayJob,
    capture_replays_sync,
    default_chromium_path,
)
from analytics_dagster.lib.replays.demo_player import player_screens, render_demo_player, serve_demo_pages
from analytics_dagster.lib.replays.links import ReplayLinkSettings, replay_key, replay_url
from analytics_dagster.lib.replays.synthetic import synthetic_sessions

SESSIONS = [s for _, s in synthetic_sessions(6, seed=3)]
PAGES = {replay_key(s.replay_id): render_demo_player(s) for s in SESSIONS}
NEVER_READY = "<html><body><div id='player' data-ready='false'>loading…</div></body></html>"


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


class _SlowPages:
    """Demo pages whose requests in flight are counted, to see the browser's concurrency bound from outside.

    The first request is held until a second one is in flight, so replays allowed to overlap are seen overlapping
    however slowly the browser starts them. The wait is bounded by OVERLAP_WAIT_SECONDS, well under the capture
    timeout, so a browser that never overlaps gets its page in time instead of giving up and starting another replay
    into a false overlap. Every answer is then held HOLD_SECONDS, so replays beyond the bound would be in flight
    together. A request leaves the count before its page goes out: the browser starts its next replay only after it
    has the page, so the count never outlasts the browser's own.
    """

    OVERLAP_WAIT_SECONDS = 10.0
    HOLD_SECONDS = 0.4

    def __init__(self) -> None:
        self.in_flight = 0
        self.max_in_flight = 0
        self.overlap_over = False
        self.changed = threading.Condition()

    def enter(self) -> None:
        with self.changed:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.changed.notify_all()
            if not self.overlap_over:
                self.changed.wait_for(lambda: self.max_in_flight >= 2, timeout=self.OVERLAP_WAIT_SECONDS)
                self.overlap_over = True
        time.sleep(self.HOLD_SECONDS)

    def leave(self) -> None:
        with self.changed:
            self.in_flight -= 1


@pytest.fixture
def slow_pages() -> Iterator[tuple[str, _SlowPages]]:
    state = _SlowPages()

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            key = unquote(self.path.removeprefix("/replay/"))
            page = NEVER_READY if key == "never/1" else PAGES.get(key)
            body = (page or "not found").encode()
            state.enter()
            try:
                self.send_response(200 if page else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
            finally:
                state.leave()
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # noqa: A002
            """Quiet."""

    with serve_http(Handler) as base:
        yield f"{base}/replay/", state


def test_demo_pages_are_screenshotted_concurrently_and_failures_are_recorded(tmp_path, slow_pages):
    base, state = slow_pages
    jobs = [ReplayJob(s.replay_id, base + replay_key(s.replay_id), replay_key(s.replay_id)) for s in SESSIONS]
    jobs += [ReplayJob("missing/1", base + "missing/1", "missing/1"), ReplayJob("never/1", base + "never/1", "never/1")]
    # A generous timeout: a loaded machine may take seconds per replay. Only the never-ready page waits it out.
    settings = BrowserSettings(
        chromium_path=default_chromium_path(), concurrency=2, timeout_seconds=30, screenshots_per_replay=3
    )

    results = capture_replays_sync(jobs, tmp_path, settings, DEMO_PLAYER)

    assert [r.replay_id for r in results] == [j.replay_id for j in jobs]
    assert state.max_in_flight == 2  # replays overlapped, never more than the bound
    *captured, missing, never = results
    assert missing.status == "failed" and "HTTP 404" in missing.error and not missing.screenshots
    assert never.status == "failed" and "time" in never.error.lower()
    assert never.seconds < 2 * settings.timeout_seconds  # stopped at its timeout, not left to hang
    for session, result in zip(SESSIONS, captured):
        assert result.status == "ok" and result.error is None
        assert [shot.path.name for shot in result.screenshots] == ["01.png", "02.png", "03.png"]
        assert all(_png_size(shot.path) == (1280, 800) for shot in result.screenshots)
        assert result.screenshots[0].path.parent == tmp_path / replay_key(session.replay_id)
        screens = player_screens(session)
        for shot in result.screenshots:  # each shows the screen the player was on at that position
            on_screen = [screen for screen in screens if screen.start <= shot.position][-1]
            assert shot.page_text.splitlines()[0] == on_screen.page
        last_text = result.screenshots[-1].page_text
        assert all(item.label in last_text for item in screens[-1].items[-3:])
    # Seeking moves the player: a session's screenshots do not all show the same thing.
    assert all(len({shot.page_text for shot in r.screenshots}) > 1 for r in captured)


def test_demo_page_escapes_event_text_and_serves_by_key():
    [session] = [s for _, s in synthetic_sessions(1)]
    hostile = type(session)(**{**vars(session), "user_key": "<script>alert(1)</script>"})
    html = render_demo_player(hostile)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    import httpx

    with serve_demo_pages({"dev/1": "<p>hello</p>"}) as base:
        assert httpx.get(base + "dev/1").text == "<p>hello</p>"
        assert httpx.get(base + "dev%2F1").text == "<p>hello</p>"
        assert httpx.get(base + "other/2").status_code == 404


AMPLITUDE_PLAYER_PAGE = """<!doctype html><html><body>
<h2>Amplitude · Session Replay</h2>
<iframe class="rr-player" style="width:900px;height:500px" srcdoc="<p id='frame'>frame at 0</p>"></iframe>
<div role="slider" style="width:900px;height:20px;background:#ccc"></div>
<script>
  const slider = document.querySelector("[role=slider]");
  slider.addEventListener("click", e => {
    const at = ((e.clientX - slider.getBoundingClientRect().left) / slider.offsetWidth).toFixed(2);
    document.querySelector("iframe").contentDocument.body.innerHTML = "<p>replayed checkout error at " + at + "</p>";
  });
</script></body></html>"""


@pytest.fixture
def amplitude_like_server() -> Iterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            seen.append({"path": url.path, "query": url.query, "cookie": self.headers.get("Cookie", "")})
            logged_in = "amp_session=logged-in" in self.headers.get("Cookie", "")
            body = (AMPLITUDE_PLAYER_PAGE if logged_in else "<h1>Log in to Amplitude</h1>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args) -> None:  # noqa: A002
            """Quiet."""

    with serve_http(Handler) as base:
        yield base, seen


def test_amplitude_player_is_driven_with_the_logged_in_storage_state(tmp_path, amplitude_like_server):
    base, seen = amplitude_like_server
    state = tmp_path / "amplitude-state.json"
    cookie = {
        "name": "amp_session",
        "value": "logged-in",
        "domain": "127.0.0.1",
        "path": "/",
        "expires": -1,
        "httpOnly": True,
        "secure": False,
        "sameSite": "Lax",
    }
    state.write_text(json.dumps({"cookies": [cookie], "origins": []}))
    amplitude = AmplitudeReplayResource(
        org_url="acme", project_id="77", app_url=base, storage_state=str(state), settle_ms=50
    )
    assert not amplitude.demo
    link = replay_url("dev-9/1773565200000", ReplayLinkSettings("acme", "77", app_url=base))
    settings = BrowserSettings(
        chromium_path=default_chromium_path(), timeout_seconds=20, screenshots_per_replay=2, storage_state=str(state)
    )

    [result] = capture_replays_sync(
        [ReplayJob("dev-9/1773565200000", link, "dev-9/1773565200000")],
        tmp_path / "shots",
        settings,
        amplitude.player_profile(),
    )

    assert result.status == "ok", result.error
    assert seen[0]["path"] == "/analytics/acme/session-replay/project/77/search/replay"
    assert seen[0]["query"] == "sessionReplayId=dev-9%2F1773565200000"
    assert "amp_session=logged-in" in seen[0]["cookie"]
    texts = [shot.page_text for shot in result.screenshots]
    assert "replayed checkout error at 0.50" in texts[0] and "replayed checkout error at 1.00" in texts[1]


def test_storage_state_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="AMPLITUDE_REPLAY_STORAGE_STATE"):
        BrowserSettings(storage_state=str(tmp_path / "missing.json"))
