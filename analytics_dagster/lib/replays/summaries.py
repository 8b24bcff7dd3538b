"""One summary per cluster: an LLM's reading of its representative sessions, or an offline summary without one.

The prompt carries the cluster's size, its distinctive terms and its representative sessions (event outline and
what their screenshots say). Without an LLM — no key or base URL configured, the day's token cap reached, or the
call failed — the summary is built from the same material and labelled "offline summary" with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from analytics_dagster.lib.replays.llm import ChatAnswer, LLMClient, TokenCapReached, prompt_hash

OFFLINE_LABEL = "offline summary"
_OUTLINE_CHARS = 1500
_SCREEN_CHARS = 600
_TITLE_WORDS = 10

SYSTEM_PROMPT = (
    "You are a product analyst reading session replays of a web shop. You get one cluster of similar user "
    "sessions: its size, its distinctive terms and a few representative sessions (their events and what their "
    "screens showed). Say what these users were trying to do, where they struggled (errors, repeated actions, dead "
    "ends) and what the product team should look at. Answer in {language}. First line: a title of at most 8 words. "
    "Then 2 to 4 sentences. No markdown, no preamble."
)


@dataclass(frozen=True)
class RepresentativeSession:
    replay_id: str
    url: str
    outline: str  # the session's events, one per line
    screen_text: str  # what its screenshots say


@dataclass(frozen=True)
class ClusterDigest:
    cluster_id: int
    size: int
    share: float  # of the day's sessions with replays
    top_terms: list[str]
    representatives: list[RepresentativeSession]


@dataclass(frozen=True)
class ClusterSummary:
    cluster_id: int
    title: str
    summary: str
    source: str  # 'llm' or 'offline'
    model: str | None
    prompt: str  # the messages sent (or that would have been sent), JSON
    prompt_sha256: str
    answer: str | None  # the LLM's answer as received
    cached: bool
    prompt_tokens: int
    completion_tokens: int


def _cluster_name(digest: ClusterDigest) -> str:
    return "Unclustered sessions" if digest.cluster_id < 0 else f"Cluster {digest.cluster_id}"


def cluster_messages(digest: ClusterDigest, *, day: str, total_sessions: int, language: str) -> list[dict]:
    lines = [
        f"Day: {day}. {_cluster_name(digest)}: {digest.size} of {total_sessions} sessions with replays "
        f"({digest.share:.0%}).",
        f"Distinctive terms: {', '.join(digest.top_terms) or '(none)'}.",
        "",
        "Representative sessions:",
    ]
    for number, session in enumerate(digest.representatives, start=1):
        lines.append(f"Session {number} events:\n{session.outline[:_OUTLINE_CHARS]}")
        if session.screen_text.strip():
            lines.append(f"Session {number} screens showed:\n{session.screen_text.strip()[:_SCREEN_CHARS]}")
    return [
        {"role": "system", "content": SYSTEM_PROMPT.format(language=language)},
        {"role": "user", "content": "\n".join(lines)},
    ]


def parse_answer(answer: str, fallback_title: str) -> tuple[str, str]:
    """(title, summary) from "title line, then the text"; a one-paragraph answer keeps the fallback title."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    if len(lines) < 2:
        return fallback_title, answer.strip()
    title = re.sub(r"^(#+\s*|\*+|title\s*:\s*)", "", lines[0], flags=re.IGNORECASE).strip(" *\"'")
    return " ".join(title.split()[:_TITLE_WORDS]), " ".join(lines[1:])


def _terms_title(digest: ClusterDigest) -> str:
    return ", ".join(digest.top_terms[:3]) or _cluster_name(digest)


def _journey(outline: str) -> str:
    """'/cart → /checkout; errors: "Card declined" (x2)' from an event outline."""
    pages = list(dict.fromkeys(re.findall(r" on (/\S*)", outline)))
    errors: dict[str, int] = {}
    for message in re.findall(r'error "([^"]+)"', outline):
        errors[message] = errors.get(message, 0) + 1
    parts = [" → ".join(pages[:8])] if pages else []
    if errors:
        parts.append("errors: " + "; ".join(f'"{m}"' + (f" (x{n})" if n > 1 else "") for m, n in errors.items()))
    return "; ".join(parts) or "no pages or errors recorded"


def offline_summary(digest: ClusterDigest, reason: str, messages: list[dict]) -> ClusterSummary:
    typical = "\n".join(f"- {_journey(s.outline)}" for s in digest.representatives)
    summary = (
        f"{OFFLINE_LABEL.capitalize()} ({reason}): {digest.size} sessions ({digest.share:.0%} of the day) share the "
        f"terms {', '.join(digest.top_terms[:6]) or '(none)'}. Typical sessions:\n\n{typical}"
    )
    return ClusterSummary(
        cluster_id=digest.cluster_id,
        title=_terms_title(digest),
        summary=summary,
        source="offline",
        model=None,
        prompt=json.dumps(messages, ensure_ascii=False),
        prompt_sha256=prompt_hash("offline", messages),
        answer=None,
        cached=False,
        prompt_tokens=0,
        completion_tokens=0,
    )


def _from_answer(digest: ClusterDigest, answer: ChatAnswer, messages: list[dict]) -> ClusterSummary:
    title, summary = parse_answer(answer.text, _terms_title(digest))
    return ClusterSummary(
        cluster_id=digest.cluster_id,
        title=title,
        summary=summary,
        source="llm",
        model=answer.model,
        prompt=json.dumps(messages, ensure_ascii=False),
        prompt_sha256=answer.cache_key,
        answer=answer.text,
        cached=answer.cached,
        prompt_tokens=answer.prompt_tokens,
        completion_tokens=answer.completion_tokens,
    )


class AllLLMCallsFailed(RuntimeError):
    """Every cluster's call failed: the LLM is misconfigured or down, which a run should not paper over."""


def summarize_clusters(
    digests: Sequence[ClusterDigest],
    llm: LLMClient | None,
    *,
    day: str,
    total_sessions: int,
    language: str = "English",
    warn: Callable[[str], None] = lambda message: None,
) -> list[ClusterSummary]:
    summaries = []
    failures = []
    for digest in digests:
        messages = cluster_messages(digest, day=day, total_sessions=total_sessions, language=language)
        if llm is None:
            summaries.append(offline_summary(digest, "no LLM configured", messages))
            continue
        try:
            summaries.append(_from_answer(digest, llm.chat(messages), messages))
        except TokenCapReached as capped:
            warn(str(capped))
            summaries.append(offline_summary(digest, "daily token cap reached", messages))
        except Exception as error:  # noqa: BLE001 (openai's errors after its retries; labelled, counted)
            failures.append(f"{_cluster_name(digest)}: {type(error).__name__}: {error}")
            warn(f"LLM call for {_cluster_name(digest)} failed: {type(error).__name__}: {error}")
            summaries.append(offline_summary(digest, f"LLM call failed: {type(error).__name__}", messages))
    if llm is not None and digests and len(failures) == len(digests):
        raise AllLLMCallsFailed("every LLM call failed; first: " + failures[0])
    return summaries
