"""Demo replay pages: each session drawn as a small app mock-up with a player timeline, from its events alone.

Without a logged-in Amplitude session there is no real replay to open, so the project renders one itself: the
screens the user visited, the buttons clicked, searches and errors, revealed as the player's position moves. The page
behaves like a replay player (a ``role=slider`` timeline that seeks on click, a ready flag), so screenshots are taken
by the same code for demo pages and Amplitude's player. The page is marked DEMO REPLAY so it is never mistaken for a
recording.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import unquote

import jinja2

from analytics_dagster.lib.local_http import serve_http
from analytics_dagster.lib.moscow_time import MOSCOW_UTC_OFFSET
from analytics_dagster.lib.replays.sessions import ReplaySession, SessionEvent

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# Events sit inside [PAD, 1 - PAD] of the timeline so a seek to either end shows the first and last screens whole.
TIMELINE_PAD = 0.02
MAX_NAV_PAGES = 12


@dataclass(frozen=True)
class PlayerItem:
    position: float
    kind: str  # click, search, error, page, event
    label: str
    detail: str = ""


@dataclass
class PlayerScreen:
    start: float
    page: str
    title: str | None
    items: list[PlayerItem] = field(default_factory=list)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )


def _position(session: ReplaySession, event: SessionEvent) -> float:
    duration = session.duration_seconds
    relative = (event.time - session.start).total_seconds() / duration if duration > 0 else 0.0
    return TIMELINE_PAD + (1 - 2 * TIMELINE_PAD) * relative


def _item(event: SessionEvent, position: float) -> PlayerItem:
    kind = event.kind
    if kind == "click":
        return PlayerItem(position, kind, event.element or event.event_type)
    if kind == "search":
        query = event.details.get("query") or event.details.get("search_term") or ""
        results = event.details.get("results_count")
        return PlayerItem(position, kind, query, f"{results} results" if results is not None else "")
    if kind == "error":
        return PlayerItem(position, kind, event.error or event.event_type)
    detail = ", ".join(f"{k} {v}" for k, v in event.details.items())
    return PlayerItem(position, kind, event.event_type, detail)


def player_screens(session: ReplaySession) -> list[PlayerScreen]:
    """The session cut into screens: a new screen starts whenever the page changes."""
    screens: list[PlayerScreen] = []
    for event in session.events:
        position = _position(session, event)
        if event.page and (not screens or screens[-1].page != event.page):
            screens.append(PlayerScreen(start=position, page=event.page, title=event.title))
            if event.kind == "page":
                continue
        elif not screens:
            screens.append(PlayerScreen(start=position, page="/", title=None))
        current = screens[-1]
        if event.kind == "page" and event.title and not current.title:
            current.title = event.title
            continue
        current.items.append(_item(event, position))
    if screens:
        screens[0].start = 0.0  # the first screen is what the player shows before anything happened
    return screens


def _duration_label(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m {secs:02d}s"


def render_demo_player(session: ReplaySession) -> str:
    screens = player_screens(session)
    markers = [PlayerItem(_position(session, e), e.kind, e.event_type) for e in session.events]
    return (
        _environment()
        .get_template("demo_player.html.j2")
        .render(
            session=session,
            moscow_start=(session.start + MOSCOW_UTC_OFFSET).strftime("%Y-%m-%d %H:%M:%S"),
            screens=screens,
            pages=session.pages[:MAX_NAV_PAGES],
            markers=markers,
            duration_seconds=round(session.duration_seconds, 3),
            duration_label=_duration_label(session.duration_seconds),
            pad=TIMELINE_PAD,
        )
    )


class _PagesHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # small responses otherwise wait for the peer's delayed ACK
    pages: Mapping[str, str] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        prefix = "/replay/"
        page = self.pages.get(unquote(self.path[len(prefix) :])) if self.path.startswith(prefix) else None
        body = (page or "<h1>No such demo replay</h1>").encode()
        self.send_response(200 if page else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        """Requests are not worth a log line each; the screenshot results say what happened."""


@contextmanager
def serve_demo_pages(pages: Mapping[str, str]) -> Iterator[str]:
    """Serves ``pages`` (key -> HTML) at ``http://127.0.0.1:<port>/replay/<key>``; yields the base URL."""
    handler = type("DemoPagesHandler", (_PagesHandler,), {"pages": dict(pages)})
    with serve_http(handler, name="demo-replay-pages") as base_url:
        yield f"{base_url}/replay/"
