"""Screenshots of replays with Playwright driving Chromium.

One browser per batch, one context per replay (so a logged-in storage state applies to each), at most
``concurrency`` replays at a time. For each replay: open the page, wait for the player, then seek to positions
spread over the session by clicking its timeline and take a screenshot at each, capturing the visible page text
too. A replay that fails or runs past its timeout is recorded with its error; the others go on.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
DEBIAN_CHROMIUM = "/usr/bin/chromium"
_MAX_PAGE_TEXT_CHARS = 4000


def default_chromium_path(configured: str | None = None) -> str | None:
    """``configured`` (the CHROMIUM_PATH setting), else Debian's Chromium when installed, else None (Playwright's
    own browser)."""
    if configured:
        return configured
    return DEBIAN_CHROMIUM if Path(DEBIAN_CHROMIUM).exists() else shutil.which("chromium")


@dataclass(frozen=True)
class PlayerProfile:
    """How to drive a replay player: when it is ready, where its timeline is, where the replayed page is."""

    ready_selector: str
    scrubber_selector: str
    text_selector: str
    settle_ms: int  # time the player needs after a seek before the frame is drawn


DEMO_PLAYER = PlayerProfile(
    ready_selector="#player[data-ready='true']", scrubber_selector="#timeline", text_selector="#viewport", settle_ms=0
)


@dataclass(frozen=True)
class BrowserSettings:
    chromium_path: str | None = None
    concurrency: int = 3
    timeout_seconds: float = 90.0
    screenshots_per_replay: int = 4
    viewport_width: int = 1280
    viewport_height: int = 800
    storage_state: str | None = None  # Playwright storage state of a logged-in session

    def __post_init__(self) -> None:
        if self.concurrency < 1 or self.screenshots_per_replay < 1 or self.timeout_seconds <= 0:
            raise ValueError("concurrency and screenshots per replay must be at least 1, the timeout positive")
        if self.storage_state and not Path(self.storage_state).is_file():
            raise FileNotFoundError(f"AMPLITUDE_REPLAY_STORAGE_STATE={self.storage_state} is not a file")


@dataclass(frozen=True)
class ReplayJob:
    replay_id: str
    url: str
    key: str  # folder of its screenshots


@dataclass(frozen=True)
class Screenshot:
    index: int
    position: float  # where on the player's timeline, 0..1
    path: Path
    page_text: str


@dataclass
class CaptureResult:
    replay_id: str
    key: str
    url: str
    status: str  # 'ok' or 'failed'
    seconds: float
    error: str | None = None
    screenshots: list[Screenshot] = field(default_factory=list)


def seek_positions(count: int) -> list[float]:
    """Positions spread over the session, ending at its end (where struggles usually show)."""
    return [(index + 1) / count for index in range(count)]


async def _frames_text(page, selector: str) -> str:
    """The visible text under ``selector`` in the page and its frames (a replay player often uses an iframe)."""
    texts = []
    for frame in page.frames:
        try:
            locator = frame.locator(selector)
            if await locator.count():
                texts.append(await locator.first.inner_text(timeout=2000))
        except Exception:  # noqa: BLE001 (a frame detached mid-read has nothing to say)
            continue
    return "\n".join(t.strip() for t in texts if t.strip())[:_MAX_PAGE_TEXT_CHARS]


async def _capture_one(browser, job: ReplayJob, out_dir: Path, settings: BrowserSettings, profile: PlayerProfile):
    context = await browser.new_context(
        viewport={"width": settings.viewport_width, "height": settings.viewport_height},
        storage_state=settings.storage_state,
        locale="en-US",
        timezone_id="UTC",
    )
    try:
        page = await context.new_page()
        page.set_default_timeout(settings.timeout_seconds * 1000)
        response = await page.goto(job.url, wait_until="domcontentloaded")
        if response is not None and response.status >= 400:
            raise RuntimeError(f"HTTP {response.status} opening the replay")
        await page.wait_for_selector(profile.ready_selector, state="visible")
        scrubber = page.locator(profile.scrubber_selector).first
        folder = out_dir / job.key
        folder.mkdir(parents=True, exist_ok=True)
        shots = []
        for index, position in enumerate(seek_positions(settings.screenshots_per_replay), start=1):
            box = await scrubber.bounding_box()
            if box is None:
                raise RuntimeError(f"the player's timeline {profile.scrubber_selector!r} is not visible")
            x = min(max(position * box["width"], 1.0), box["width"] - 1.0)
            await scrubber.click(position={"x": x, "y": box["height"] / 2})
            if profile.settle_ms:
                await page.wait_for_timeout(profile.settle_ms)
            path = folder / f"{index:02d}.png"
            await page.screenshot(path=str(path))
            shots.append(Screenshot(index, position, path, await _frames_text(page, profile.text_selector)))
        return shots
    finally:
        await context.close()


async def capture_replays(
    jobs: Sequence[ReplayJob], out_dir: Path, settings: BrowserSettings, profile: PlayerProfile
) -> list[CaptureResult]:
    """Screenshots of every job (in the jobs' order), each under ``out_dir/<key>/NN.png``."""
    from playwright.async_api import async_playwright

    if not jobs:
        return []
    semaphore = asyncio.Semaphore(settings.concurrency)

    async def run(browser, job: ReplayJob) -> CaptureResult:
        async with semaphore:
            started = time.perf_counter()
            try:
                shots = await asyncio.wait_for(
                    _capture_one(browser, job, out_dir, settings, profile), timeout=settings.timeout_seconds
                )
            except TimeoutError:
                error = f"timed out after {settings.timeout_seconds:g}s"
                return CaptureResult(job.replay_id, job.key, job.url, "failed", time.perf_counter() - started, error)
            except Exception as failure:  # noqa: BLE001 (recorded per replay; the batch goes on)
                error = f"{type(failure).__name__}: {str(failure).splitlines()[0] if str(failure) else ''}"
                return CaptureResult(job.replay_id, job.key, job.url, "failed", time.perf_counter() - started, error)
            return CaptureResult(job.replay_id, job.key, job.url, "ok", time.perf_counter() - started, None, shots)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=settings.chromium_path, args=list(CHROMIUM_ARGS), headless=True
        )
        try:
            return list(await asyncio.gather(*(run(browser, job) for job in jobs)))
        finally:
            await browser.close()


def capture_replays_sync(
    jobs: Sequence[ReplayJob], out_dir: Path, settings: BrowserSettings, profile: PlayerProfile
) -> list[CaptureResult]:
    return asyncio.run(capture_replays(jobs, out_dir, settings, profile))
