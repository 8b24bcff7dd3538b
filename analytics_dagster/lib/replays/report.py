"""The daily replay report: clusters with their sizes, summaries, example screenshots and links to the replays.

Rendered twice from one model: Markdown (screenshots as files beside it) and a self-contained HTML page
(screenshots embedded, opening full size in the page), so the HTML reads the same from the object store, a mail or
Google Drive. Times are Moscow times, like the day the report covers; summaries are Markdown, rendered in the HTML
(markdown-it, raw HTML off, so an LLM's answer cannot inject markup).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from functools import lru_cache

import jinja2
import markupsafe
from markdown_it import MarkdownIt

from analytics_dagster.lib.moscow_time import MOSCOW_UTC_OFFSET
from analytics_dagster.lib.replays.demo_player import TEMPLATES_DIR


@dataclass(frozen=True)
class ReportSession:
    replay_id: str
    url: str
    user_key: str
    start: dt.datetime  # UTC
    duration_seconds: float
    event_count: int
    screenshot: str | None  # file name beside the report


@dataclass(frozen=True)
class ReportCluster:
    cluster_id: int
    size: int
    share: float
    title: str
    summary: str
    source: str  # 'llm' or 'offline'
    model: str | None
    cached: bool
    top_terms: list[str]
    silhouette: float | None
    sessions: list[ReportSession]  # representatives
    # When no representative has a screenshot: another session of the cluster that has one (None: not one has).
    example: ReportSession | None = None

    @property
    def gallery(self) -> list[ReportSession]:
        shown = [s for s in self.sessions if s.screenshot]
        return shown or ([self.example] if self.example and self.example.screenshot else [])


@dataclass(frozen=True)
class FailedReplay:
    replay_id: str
    url: str
    error: str


@dataclass
class ReplayReport:
    day: str
    is_demo: bool  # the sessions' events came from the built-in demo source
    demo: bool  # the screenshots are demo pages rendered from the events, not Amplitude's player
    sessions_with_replays: int
    screenshotted: int
    clustering_method: str
    silhouette: float | None
    text_source: str
    clusters: list[ReportCluster] = field(default_factory=list)
    failed: list[FailedReplay] = field(default_factory=list)
    generated_at: str = field(
        default_factory=lambda: (dt.datetime.now(dt.UTC) + MOSCOW_UTC_OFFSET).strftime("%Y-%m-%d %H:%M Moscow time")
    )

    @property
    def summary_sources(self) -> str:
        sources = sorted({c.source for c in self.clusters})
        return " and ".join(sources) if sources else "none"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m {secs:02d}s"


def _moscow_time(utc: dt.datetime, day: str) -> str:
    """HH:MM:SS in Moscow of a naive UTC time, with the date in front when it is not the report's ``day`` (a
    session uploaded on the day may have started the evening before)."""
    moscow = utc + MOSCOW_UTC_OFFSET
    return moscow.strftime("%H:%M:%S" if moscow.date().isoformat() == day else "%Y-%m-%d %H:%M:%S")


@lru_cache(maxsize=1)
def _markdown_renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})


def _markdown_html(text: str) -> markupsafe.Markup:
    # markdown-it escapes any raw HTML itself ("html": False), so its output is safe to insert.
    return markupsafe.Markup(_markdown_renderer().render(str(text)))


def _markdown_text(text: str) -> str:
    """Text safe in Markdown: no raw HTML gets through to a renderer."""
    return html.escape(str(text), quote=False)


def _markdown_cell(text: str) -> str:
    return " ".join(_markdown_text(text).split()).replace("|", "\\|")


@lru_cache(maxsize=1)
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    def build(autoescape: bool) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=autoescape,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["duration"] = _duration
        env.filters["cell"] = _markdown_cell
        env.filters["text"] = _markdown_text
        env.filters["moscow"] = _moscow_time
        env.filters["markdown"] = _markdown_html
        return env

    return build(False), build(True)


def render_markdown(report: ReplayReport) -> str:
    return _environments()[0].get_template("replay_report.md.j2").render(report=report)


def render_html(report: ReplayReport, images: dict[str, bytes]) -> str:
    """The report as one HTML page; ``images`` (file name -> PNG) are embedded as data URLs."""
    embedded = {name: "data:image/png;base64," + base64.b64encode(png).decode() for name, png in images.items()}
    return _environments()[1].get_template("replay_report.html.j2").render(report=report, images=embedded)
