import email.utils
import random
import time

import pytest

from analytics_dagster.lib.http_retry import (
    Backoff,
    RetriesExhaustedError,
    RetryableError,
    call_with_retries,
    parse_retry_after,
)
from analytics_dagster_tests.ingest.helpers import ListLog


def test_backoff_grows_exponentially_with_jitter_and_a_ceiling():
    backoff = Backoff(base_seconds=1.0, max_seconds=8.0, max_attempts=10)
    rng = random.Random(5)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (7, 8.0)]:
        delays = {backoff.delay(attempt, rng=rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered, not lockstep


def test_retry_after_is_a_floor_for_the_wait():
    backoff = Backoff(base_seconds=0.01, max_seconds=0.05)
    assert backoff.delay(1, retry_after=3.0) == 3.0
    assert Backoff(base_seconds=10, max_seconds=10).delay(1, retry_after=1.0) >= 5.0


def test_parse_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None


def test_call_with_retries_logs_each_retry_and_honours_retry_after():
    outcomes = [RetryableError("HTTP 429", status=429, retry_after=2.0), RetryableError("HTTP 502", status=502), "ok"]
    sleeps: list[float] = []
    log = ListLog()

    def attempt():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    backoff = Backoff(base_seconds=0.01, max_seconds=0.02, max_attempts=5)
    assert call_with_retries(attempt, backoff=backoff, what="x", log=log, sleep=sleeps.append) == "ok"
    assert sleeps[0] == 2.0 and sleeps[1] <= 0.02
    assert log.lines[0].startswith("HTTP 429; retry 1/4") and log.lines[1].startswith("HTTP 502; retry 2/4")


def test_call_with_retries_gives_up_after_max_attempts():
    calls = []

    def attempt():
        calls.append(1)
        raise RetryableError("HTTP 500", status=500)

    with pytest.raises(RetriesExhaustedError, match="gave up after 3 attempts; last error: HTTP 500") as failure:
        call_with_retries(attempt, backoff=Backoff(0.0, 0.0, 3), what="x", log=ListLog(), sleep=lambda s: None)
    assert len(calls) == 3 and failure.value.last_error.status == 500


def test_other_errors_are_not_retried():
    calls = []

    def attempt():
        calls.append(1)
        raise KeyError("bug")

    with pytest.raises(KeyError):
        call_with_retries(attempt, backoff=Backoff(0.0, 0.0, 3), what="x", log=ListLog(), sleep=lambda s: None)
    assert len(calls) == 1
