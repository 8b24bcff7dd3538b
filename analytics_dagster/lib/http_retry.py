"""Retry with exponential backoff and jitter, shared by the API clients.

A client raises :class:`RetryableError` for a failure worth another try (HTTP 429 and 5xx, timeouts, dropped
connections, a download that turned out truncated or corrupt); :func:`call_with_retries` waits and calls again
(tenacity), honouring the server's ``Retry-After``, and logs every retry so the run log shows what happened.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import httpx
import tenacity

T = TypeVar("T")


class Log(Protocol):
    """What the clients need of a logger; ``logging.Logger`` and Dagster's ``context.log`` both fit."""

    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


class RetryableError(Exception):
    """A transient failure; ``retry_after`` is the server's requested wait in seconds, when it sent one."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class RetriesExhaustedError(RuntimeError):
    def __init__(self, message: str, last_error: RetryableError):
        super().__init__(message)
        self.last_error = last_error


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with "equal jitter": attempt n waits between half and all of min(max, base * 2**(n-1)).

    Jitter keeps the parallel requests of a backfill from retrying in lockstep. A server's ``Retry-After`` is a
    floor: the wait is never shorter than what the server asked for.
    """

    base_seconds: float = 1.0
    max_seconds: float = 60.0
    max_attempts: int = 8

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_seconds < 0 or self.max_seconds < self.base_seconds:
            raise ValueError(f"invalid backoff {self}: need max_attempts >= 1 and 0 <= base_seconds <= max_seconds")

    def delay(self, attempt: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        jittered = ceiling / 2 + (rng or random).uniform(0, ceiling / 2)
        return max(jittered, retry_after) if retry_after is not None else jittered


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def error_for_status(response: httpx.Response, what: str) -> RetryableError | None:
    """A RetryableError for 429 and 5xx responses (with their Retry-After), None for any other status."""
    status = response.status_code
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        hint = f" (Retry-After: {response.headers['Retry-After']})" if retry_after is not None else ""
        return RetryableError(f"{what}: HTTP {status}{hint}", status=status, retry_after=retry_after)
    return None


def error_for_transport(error: httpx.TransportError, what: str) -> RetryableError:
    kind = "timed out" if isinstance(error, httpx.TimeoutException) else "connection failed"
    return RetryableError(f"{what}: {kind} ({type(error).__name__}: {error})")


def call_with_retries(
    attempt: Callable[[], T],
    *,
    backoff: Backoff,
    what: str,
    log: Log,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> T:
    """Calls ``attempt`` until it returns, retrying on :class:`RetryableError` up to ``backoff.max_attempts`` times."""

    def wait(state: tenacity.RetryCallState) -> float:
        return backoff.delay(state.attempt_number, _error_of(state).retry_after, rng)

    def log_retry(state: tenacity.RetryCallState) -> None:
        retries = f"retry {state.attempt_number}/{backoff.max_attempts - 1}"
        log.warning(f"{_error_of(state)}; {retries} in {state.upcoming_sleep:.2f}s")

    def give_up(state: tenacity.RetryCallState) -> T:
        error = _error_of(state)
        raise RetriesExhaustedError(
            f"{what}: gave up after {state.attempt_number} attempts; last error: {error}", error
        ) from error

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        stop=tenacity.stop_after_attempt(backoff.max_attempts),
        wait=wait,
        sleep=sleep,
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    return retrying(attempt)


def _error_of(state: tenacity.RetryCallState) -> RetryableError:
    error = state.outcome.exception()
    assert isinstance(error, RetryableError)  # tenacity retries nothing else
    return error
