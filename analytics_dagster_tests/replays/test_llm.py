"""The real ``openai`` client over HTTP against a local OpenAI-compatible server (the ``fake_openai`` fixture)."""

from __future__ import annotations

import json

import openai
import pytest

from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.replays.llm import LLMClient, TokenBudget, TokenCapReached, prompt_hash
from analytics_dagster.lib.replays.summaries import (
    AllLLMCallsFailed,
    ClusterDigest,
    RepresentativeSession,
    parse_answer,
    summarize_clusters,
)

DAY = "2026-03-15"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(fake_openai, store, *, cap: int = 100_000, max_retries: int = 2) -> LLMClient:
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="sk-test", max_retries=max_retries, timeout=60)
    return LLMClient(client, model="test-model", store=store, budget=TokenBudget(store, DAY, cap), max_tokens=200)


def _digest(cluster_id: int, terms: list[str]) -> ClusterDigest:
    outline = 'Page Viewed on /checkout "Checkout | Shop"\nPayment Failed on /checkout error "Card declined" (x2)'
    return ClusterDigest(
        cluster_id=cluster_id,
        size=6,
        share=0.25,
        top_terms=terms,
        representatives=[RepresentativeSession("dev/1", "https://example.test/r", outline, "Pay now")],
    )


@pytest.fixture
def store(tmp_path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects")


def test_chat_answers_are_cached_by_prompt_hash(fake_openai, store):
    messages = [{"role": "user", "content": "Summarise: checkout errors"}]
    llm = _client(fake_openai, store)
    first = llm.chat(messages)
    assert not first.cached and first.prompt_tokens == 100 and first.completion_tokens == 20
    [request] = fake_openai.requests
    assert request["_path"] == "/v1/chat/completions" and request["model"] == "test-model"
    assert request["messages"] == messages and request["_auth"] == "Bearer sk-test"
    record = json.loads(store.get_bytes(f"llm_cache/{prompt_hash('test-model', messages)}.json"))
    assert record["prompt"] == messages and record["answer"] == first.text

    again = _client(fake_openai, store).chat(messages)  # a new run, same prompt
    assert again.cached and again.text == first.text and len(fake_openai.requests) == 1
    assert _client(fake_openai, store).chat(messages, model="other-model").cached is False
    assert json.loads(store.get_bytes(f"llm_usage/{DAY}.json"))["tokens"] == 240


@pytest.mark.parametrize("status", [429, 503])
def test_rate_limits_and_server_errors_are_retried(fake_openai, store, status):
    fake_openai.fail_with = [status]
    answer = _client(fake_openai, store).chat([{"role": "user", "content": f"retry after {status}"}])
    assert [r["_status"] for r in fake_openai.requests] == [status, 200]
    assert answer.text and not answer.cached


def test_vision_requests_carry_data_url_images_and_cache_without_them(fake_openai, store):
    llm = _client(fake_openai, store)
    answer = llm.describe_screenshots([PNG, PNG + b"x"], "12 events on /checkout", model="test-vision")
    [request] = fake_openai.requests
    assert request["model"] == "test-vision"
    parts = request["messages"][-1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "image_url"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,iVBORw0KGgo")
    assert answer.text.startswith("The screens show")
    record = json.loads(store.get_bytes(f"llm_cache/{answer.cache_key}.json"))
    stored = record["prompt"][-1]["content"]
    assert stored[1]["image_url"]["url"].startswith("sha256:") and "base64" not in json.dumps(record)
    assert llm.describe_screenshots([PNG, PNG + b"x"], "12 events on /checkout", model="test-vision").cached


def test_token_cap_stops_calls_for_the_day(fake_openai, store):
    llm = _client(fake_openai, store, cap=1000)
    llm.chat([{"role": "user", "content": "first"}])  # ~200 tokens reserved, 120 spent
    with pytest.raises(TokenCapReached, match="LLM_DAILY_TOKEN_CAP=1000"):
        _client(fake_openai, store, cap=1000).chat([{"role": "user", "content": "x" * 3000}])
    assert len(fake_openai.requests) == 1  # refused before sending
    assert TokenBudget(store, DAY, 1000).used == 120 and TokenBudget(store, "2026-03-16", 1000).used == 0


def test_summaries_come_from_the_server_then_from_the_cache(fake_openai, store):
    digests = [_digest(0, ["checkout", "declined"]), _digest(1, ["password", "signup"])]
    summaries = summarize_clusters(digests, _client(fake_openai, store), day=DAY, total_sessions=24)
    assert [s.source for s in summaries] == ["llm", "llm"]
    assert [s.title for s in summaries] == ["Struggle around checkout", "Struggle around password"]
    assert summaries[0].summary == "Server summary: users hit checkout, declined."
    prompt = json.loads(summaries[0].prompt)
    assert "Cluster 0: 6 of 24 sessions with replays (25%)" in prompt[1]["content"]
    assert 'Payment Failed on /checkout error "Card declined" (x2)' in prompt[1]["content"]
    rerun = summarize_clusters(digests, _client(fake_openai, store), day=DAY, total_sessions=24)
    assert len(fake_openai.requests) == 2 and all(s.cached for s in rerun)
    assert [s.summary for s in rerun] == [s.summary for s in summaries]


def test_offline_summaries_are_labelled_with_their_reason(fake_openai, store):
    [offline] = summarize_clusters([_digest(0, ["checkout", "declined", "card"])], None, day=DAY, total_sessions=24)
    assert offline.source == "offline" and offline.model is None and offline.title == "checkout, declined, card"
    assert offline.summary.startswith("Offline summary (no LLM configured): 6 sessions (25% of the day)")
    assert '/checkout; errors: "Card declined"' in offline.summary

    capped = summarize_clusters([_digest(0, ["a"])], _client(fake_openai, store, cap=10), day=DAY, total_sessions=6)
    assert capped[0].summary.startswith("Offline summary (daily token cap reached)") and not fake_openai.requests

    fake_openai.fail_with = [500]
    partly = summarize_clusters(
        [_digest(0, ["a"]), _digest(1, ["b"])], _client(fake_openai, store, max_retries=0), day=DAY, total_sessions=12
    )
    assert [s.source for s in partly] == ["offline", "llm"]
    assert partly[0].summary.startswith("Offline summary (LLM call failed: InternalServerError)")


def test_a_run_whose_every_call_fails_fails(fake_openai, store):
    fake_openai.fail_with = [500, 500]
    with pytest.raises(AllLLMCallsFailed, match="InternalServerError"):
        summarize_clusters(
            [_digest(0, ["a"]), _digest(1, ["b"])],
            _client(fake_openai, store, max_retries=0),
            day=DAY,
            total_sessions=12,
        )


@pytest.mark.parametrize(
    "answer, expected",
    [
        (
            "**Checkout card declines**\nUsers fail to pay.\nLook at 3-D Secure.",
            ("Checkout card declines", "Users fail to pay. Look at 3-D Secure."),
        ),
        ("Title: Sign-up loops\nUsers retry passwords.", ("Sign-up loops", "Users retry passwords.")),
        ("One paragraph only.", ("fallback", "One paragraph only.")),
    ],
)
def test_answers_split_into_title_and_summary(answer, expected):
    assert parse_answer(answer, "fallback") == expected
