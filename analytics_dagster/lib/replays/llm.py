"""Chat completions through the ``openai`` client (any OpenAI-compatible server), cached and within a token cap.

- Every answer is cached in the object store under ``llm_cache/<sha256 of model + prompt>.json`` with its prompt, so
  re-materializing a day makes no call it already paid for.
- A day's calls stop at ``LLM_DAILY_TOKEN_CAP`` tokens (usage kept in ``llm_usage/<day>.json``); the call that
  would cross it raises :class:`TokenCapReached` and the caller falls back to its offline answer.
- 429 and 5xx answers are retried with exponential backoff (honouring ``Retry-After``) by the openai client itself,
  configured with ``max_retries``.
- Screenshots go to a vision model as ``data:image/png;base64`` image parts; the cache stores their hashes, not
  the images.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from analytics_dagster.lib.object_store import ObjectStore

CACHE_PREFIX = "llm_cache"
USAGE_PREFIX = "llm_usage"
# Budget estimates before a call (the real usage is recorded after it): text at ~3 characters per token (Cyrillic
# tokenizes denser than English), an image part at the cost of a low-detail image on the small vision models.
_CHARS_PER_TOKEN = 3
_IMAGE_TOKENS = 3000

VISION_SYSTEM_PROMPT = (
    "You read screenshots of one user's session replay of a web app. Say briefly what the user sees on each "
    "screenshot: the page, the visible headings, buttons, form fields, search results and any error messages, "
    "quoting their text exactly. Plain text, no preamble."
)


class TokenCapReached(RuntimeError):
    """The day's token cap would be crossed by the next call."""


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    model: str
    cache_key: str
    cached: bool  # True when it came from the cache and cost nothing now
    prompt_tokens: int
    completion_tokens: int


def _image_free(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with every data-URL image replaced by its sha256 (for keys and stored prompts)."""

    def part(item: Any) -> Any:
        if isinstance(item, dict) and item.get("type") == "image_url":
            url = item["image_url"]["url"]
            if url.startswith("data:"):
                digest = hashlib.sha256(url.encode()).hexdigest()
                return {**item, "image_url": {**item["image_url"], "url": f"sha256:{digest}"}}
        return item

    return [
        {**m, "content": [part(p) for p in m["content"]]} if isinstance(m.get("content"), list) else dict(m)
        for m in messages
    ]


def prompt_hash(model: str, messages: Sequence[dict[str, Any]]) -> str:
    canonical = json.dumps({"model": model, "messages": _image_free(messages)}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def estimate_tokens(messages: Sequence[dict[str, Any]]) -> int:
    total = 0
    for message in messages:
        content = message.get("content")
        parts = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        for item in parts:
            total += _IMAGE_TOKENS if item.get("type") == "image_url" else len(item.get("text", "")) // _CHARS_PER_TOKEN
    return total + 4 * len(messages)


def png_part(png: bytes, detail: str = "low") -> dict[str, Any]:
    encoded = base64.b64encode(png).decode()
    return {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}", "detail": detail}}


class TokenBudget:
    """Tokens spent on one partition day, kept in the object store so every asset of the day shares the cap."""

    def __init__(self, store: ObjectStore, day: str, cap: int):
        self.store = store
        self.cap = cap
        self.key = f"{USAGE_PREFIX}/{day}.json"
        self.used = json.loads(store.get_bytes(self.key))["tokens"] if store.exists(self.key) else 0

    def check(self, estimate: int) -> None:
        if self.used + estimate > self.cap:
            raise TokenCapReached(
                f"LLM_DAILY_TOKEN_CAP={self.cap} reached: {self.used} tokens used, the next call needs ~{estimate}"
            )

    def spend(self, tokens: int) -> None:
        self.used += tokens
        self.store.put_bytes(self.key, json.dumps({"tokens": self.used, "cap": self.cap}).encode())


class LLMClient:
    def __init__(
        self,
        client: Any,  # openai.OpenAI
        *,
        model: str,
        store: ObjectStore,
        budget: TokenBudget,
        max_tokens: int = 500,
        temperature: float = 0.0,
    ):
        self.client = client
        self.model = model
        self.store = store
        self.budget = budget
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.calls = 0  # requests that reached the server in this process (cache hits excluded)

    def chat(self, messages: Sequence[dict[str, Any]], *, model: str | None = None) -> ChatAnswer:
        model = model or self.model
        key = prompt_hash(model, messages)
        cache_key = f"{CACHE_PREFIX}/{key}.json"
        if self.store.exists(cache_key):
            record = json.loads(self.store.get_bytes(cache_key))
            usage = record.get("usage") or {}
            return ChatAnswer(
                record["answer"], model, key, True, usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
            )
        estimate = estimate_tokens(messages) + self.max_tokens
        self.budget.check(estimate)
        self.calls += 1
        response = self.client.chat.completions.create(
            model=model, messages=list(messages), max_tokens=self.max_tokens, temperature=self.temperature
        )
        answer = (response.choices[0].message.content or "").strip()
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage else estimate - self.max_tokens
        completion_tokens = usage.completion_tokens if usage else len(answer) // _CHARS_PER_TOKEN
        self.budget.spend(prompt_tokens + completion_tokens)
        record = {
            "model": model,
            "prompt": _image_free(messages),
            "answer": answer,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens},
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        self.store.put_bytes(cache_key, json.dumps(record, ensure_ascii=False, indent=1).encode())
        return ChatAnswer(answer, model, key, False, prompt_tokens, completion_tokens)

    def describe_screenshots(self, pngs: Sequence[bytes], context: str, *, model: str) -> ChatAnswer:
        """What a vision model reads on a session's screenshots (one request for all of them)."""
        content = [{"type": "text", "text": f"Session: {context}\nScreenshots in time order:"}]
        content += [png_part(png) for png in pngs]
        messages = [{"role": "system", "content": VISION_SYSTEM_PROMPT}, {"role": "user", "content": content}]
        return self.chat(messages, model=model)
