from __future__ import annotations

import asyncio
import os

import pytest

from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.replays.browser import CHROMIUM_ARGS, default_chromium_path
from analytics_dagster.lib.replays.ocr import tesseract_path
from analytics_dagster.lib.replays.screen_text import resolve_text_source, screen_texts
from analytics_dagster.lib.replays.storage import ReplayShots, ShotRecord


@pytest.mark.parametrize(
    "requested, vision, tesseract, demo, expected",
    [
        ("auto", "gpt-4o-mini", "/usr/bin/tesseract", False, "vision"),
        ("auto", None, "/usr/bin/tesseract", False, "ocr"),
        ("auto", None, "/usr/bin/tesseract", True, "page_text"),
        ("auto", None, None, False, "page_text"),
        ("ocr", None, "/usr/bin/tesseract", True, "ocr"),
        ("none", "gpt-4o-mini", None, False, "none"),
    ],
)
def test_text_source_choice(requested, vision, tesseract, demo, expected):
    assert resolve_text_source(requested, vision_model=vision, tesseract=tesseract, demo=demo) == expected


def test_impossible_text_sources_are_refused_clearly():
    with pytest.raises(ValueError, match="OPENAI_VISION_MODEL"):
        resolve_text_source("vision", vision_model=None, tesseract=None, demo=True)
    with pytest.raises(ValueError, match="apt-get install tesseract-ocr"):
        resolve_text_source("ocr", vision_model=None, tesseract=None, demo=True)
    with pytest.raises(ValueError, match="REPLAY_TEXT_SOURCE"):
        resolve_text_source("magic", vision_model=None, tesseract=None, demo=True)


def _replays(store: LocalObjectStore, pngs: list[bytes]) -> list[ReplayShots]:
    shots = []
    for index, png in enumerate(pngs):
        key = f"replays/2026-03-15/screenshots/dev/1/{index + 1:02d}.png"
        store.put_bytes(key, png)
        shots.append(ShotRecord(key, (index + 1) / len(pngs), f"page text {index}"))
    return [
        ReplayShots("dev/1", "https://example.test", "ok", 1.0, None, shots),
        ReplayShots("dev/2", "https://example.test", "failed", 9.0, "timed out", []),
    ]


def test_page_text_joins_what_playwright_captured(tmp_path):
    store = LocalObjectStore(tmp_path)
    texts = screen_texts(_replays(store, [b"a", b"b"]), "page_text", store=store)
    assert {k: (v.text, v.source) for k, v in texts.items()} == {"dev/1": ("page text 0\npage text 1", "page_text")}
    assert screen_texts(_replays(store, [b"a"]), "none", store=store) == {}


def _render(html: str) -> bytes:
    from playwright.async_api import async_playwright

    async def shot() -> bytes:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=default_chromium_path(), args=list(CHROMIUM_ARGS)
            )
            page = await browser.new_page(viewport={"width": 900, "height": 300})
            await page.set_content(html)
            png = await page.screenshot()
            await browser.close()
            return png

    return asyncio.run(shot())


@pytest.fixture
def tesseract() -> str:
    """Tesseract, which `make test` installs; a missing one fails under CI=true and skips elsewhere."""
    path = tesseract_path()
    if path is None:
        message = "the tesseract program is not installed (apt-get install tesseract-ocr)"
        if os.getenv("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_tesseract_reads_english_and_russian_screenshots_once(tmp_path, tesseract):
    png = _render(
        "<body style='font: 28px DejaVu Sans; padding: 20px'>"
        "<p>Payment declined: insufficient funds</p><p>Не удалось сохранить настройки</p></body>"
    )
    store = LocalObjectStore(tmp_path)
    replays = _replays(store, [png])
    texts = screen_texts(replays, "ocr", store=store, tesseract=tesseract)
    text = texts["dev/1"].text
    assert texts["dev/1"].source == "ocr"
    assert "Payment declined" in text and "insufficient funds" in text
    assert "сохранить" in text
    [cached] = store.list_keys("ocr_cache/")
    store.put_bytes(cached, b"from the cache")  # a second reading must not run Tesseract again
    assert screen_texts(replays, "ocr", store=store, tesseract=tesseract)["dev/1"].text == "from the cache"
