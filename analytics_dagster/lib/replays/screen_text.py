"""What a session's screenshots say, read by a vision model, by Tesseract OCR, or taken from the page text.

``REPLAY_TEXT_SOURCE=auto`` picks, in order: a vision model when ``OPENAI_VISION_MODEL`` is configured; Tesseract
when installed — except on demo replay pages, whose captured page text is exactly what their screenshots show, so
OCR would only add noise and time; else the page text Playwright captured. A session whose vision call fails or
meets the token cap falls back to its page text, and says so.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from analytics_dagster.lib.object_store import ObjectStore
from analytics_dagster.lib.replays.llm import LLMClient, TokenCapReached
from analytics_dagster.lib.replays.ocr import ocr_png
from analytics_dagster.lib.replays.storage import ReplayShots

TEXT_SOURCES = ("auto", "vision", "ocr", "page_text", "none")
OCR_CACHE_PREFIX = "ocr_cache"


@dataclass(frozen=True)
class ScreenText:
    text: str
    source: str  # 'vision', 'ocr', 'page_text' or 'none'


def resolve_text_source(requested: str, *, vision_model: str | None, tesseract: str | None, demo: bool) -> str:
    if requested not in TEXT_SOURCES:
        raise ValueError(f"REPLAY_TEXT_SOURCE={requested!r} is not supported; choose one of {TEXT_SOURCES}")
    if requested == "vision" and not vision_model:
        raise ValueError(
            "REPLAY_TEXT_SOURCE=vision needs OPENAI_VISION_MODEL and an LLM (OPENAI_API_KEY or OPENAI_BASE_URL)"
        )
    if requested == "ocr" and not tesseract:
        raise ValueError(
            "REPLAY_TEXT_SOURCE=ocr needs the tesseract program (apt-get install tesseract-ocr) or TESSERACT_PATH"
        )
    if requested != "auto":
        return requested
    if vision_model:
        return "vision"
    if tesseract and not demo:
        return "ocr"
    return "page_text"


def _page_text(replay: ReplayShots) -> str:
    return "\n".join(shot.page_text for shot in replay.screenshots if shot.page_text.strip())


def _ocr_cached(store: ObjectStore, png_key: str, tesseract: str) -> str:
    png = store.get_bytes(png_key)
    cache_key = f"{OCR_CACHE_PREFIX}/{hashlib.sha256(png).hexdigest()}.txt"
    if store.exists(cache_key):
        return store.get_bytes(cache_key).decode()
    with tempfile.TemporaryDirectory(prefix="ocr-") as tmp:
        path = Path(tmp) / "shot.png"
        path.write_bytes(png)
        text = ocr_png(path, tesseract)
    store.put_bytes(cache_key, text.encode())
    return text


def screen_texts(
    replays: Sequence[ReplayShots],
    source: str,
    *,
    store: ObjectStore,
    llm: LLMClient | None = None,
    vision_model: str | None = None,
    tesseract: str | None = None,
    describe: Callable[[ReplayShots], str] = lambda replay: replay.replay_id,
    warn: Callable[[str], None] = lambda message: None,
) -> dict[str, ScreenText]:
    """Screen text per replay id, for the replays whose screenshots were taken."""
    captured = [r for r in replays if r.status == "ok" and r.screenshots]
    if source == "none":
        return {}
    if source == "page_text":
        return {r.replay_id: ScreenText(_page_text(r), "page_text") for r in captured}
    if source == "ocr":
        shots = [(r.replay_id, s.key) for r in captured for s in r.screenshots]
        # Tesseract runs one thread per call (OMP_THREAD_LIMIT=1), so a call per core keeps every core busy.
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            texts = list(pool.map(lambda shot: _ocr_cached(store, shot[1], tesseract), shots))
        joined: dict[str, list[str]] = {}
        for (replay_id, _), text in zip(shots, texts):
            joined.setdefault(replay_id, []).append(text)
        return {replay_id: ScreenText("\n".join(parts), "ocr") for replay_id, parts in joined.items()}
    if llm is None or not vision_model:
        raise ValueError("vision text needs an LLM client and OPENAI_VISION_MODEL")
    results = {}
    for replay in captured:
        try:
            pngs = [store.get_bytes(shot.key) for shot in replay.screenshots]
            answer = llm.describe_screenshots(pngs, describe(replay), model=vision_model)
            results[replay.replay_id] = ScreenText(answer.text, "vision")
        except TokenCapReached as capped:
            warn(f"{replay.replay_id}: {capped}; using its page text")
            results[replay.replay_id] = ScreenText(_page_text(replay), "page_text")
        except Exception as error:  # noqa: BLE001 (openai's errors after its retries; the session keeps its page text)
            warn(f"{replay.replay_id}: vision call failed ({type(error).__name__}: {error}); using its page text")
            results[replay.replay_id] = ScreenText(_page_text(replay), "page_text")
    return results
