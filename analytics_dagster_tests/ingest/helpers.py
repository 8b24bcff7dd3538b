"""Shared bits of the ingest tests: a list-backed logger and quick-retrying clients/resources for the fault server."""

from __future__ import annotations

import gzip
from pathlib import Path

import httpx

from analytics_dagster.defs.ingest.resources import AmplitudeResource, AppMetricaResource
from analytics_dagster.lib.amplitude import AmplitudeExportClient
from analytics_dagster.lib.appmetrica import AppMetricaLogsClient, PollPolicy
from analytics_dagster.lib.http_retry import Backoff
from analytics_dagster_tests.ingest.fault_server import FaultServer

FAST_BACKOFF = Backoff(base_seconds=0.01, max_seconds=0.05, max_attempts=6)
FAST_POLL = PollPolicy(initial_seconds=0.01, max_seconds=0.05, timeout_seconds=60)
# The fault server answers from data built before it starts, so a good answer takes milliseconds; the read timeout
# is far above that even on a loaded machine. Only a "stall" (never answered) waits it out, once per stall.
READ_TIMEOUT_SECONDS = 5.0
CLIENT_TIMEOUT = httpx.Timeout(30.0, read=READ_TIMEOUT_SECONDS)
FAST_SETTINGS = {
    "retry_base_seconds": 0.01,
    "retry_max_seconds": 0.05,
    "retry_max_attempts": 6,
    "request_timeout_seconds": READ_TIMEOUT_SECONDS,
}


class ListLog:
    """Collects log lines (what Dagster's context.log would show)."""

    def __init__(self):
        self.lines: list[str] = []

    def info(self, msg: str) -> None:
        self.lines.append(msg)

    def warning(self, msg: str) -> None:
        self.lines.append(msg)

    def text(self) -> str:
        return "\n".join(self.lines)


def amplitude_client(server: FaultServer, log: ListLog, sleeps: list[float] | None = None) -> AmplitudeExportClient:
    state = server.state
    return AmplitudeExportClient(
        state.api_key,
        state.secret_key,
        base_url=server.url,
        backoff=FAST_BACKOFF,
        timeout=CLIENT_TIMEOUT,
        log=log,
        sleep=(sleeps.append if sleeps is not None else lambda seconds: None),
    )


def appmetrica_client(server: FaultServer, log: ListLog, **overrides) -> AppMetricaLogsClient:
    settings = {"base_url": server.url, "backoff": FAST_BACKOFF, "poll": FAST_POLL, "timeout": CLIENT_TIMEOUT,
                "log": log, "sleep": lambda seconds: None, **overrides}  # fmt: skip
    return AppMetricaLogsClient(server.state.token, server.state.application_id, **settings)


def amplitude_resource(server: FaultServer) -> AmplitudeResource:
    return AmplitudeResource(
        api_key=server.state.api_key, secret_key=server.state.secret_key, api_url=server.url, **FAST_SETTINGS
    )


def appmetrica_resource(server: FaultServer, **overrides) -> AppMetricaResource:
    return AppMetricaResource(
        token=server.state.token,
        application_id=server.state.application_id,
        api_url=server.url,
        poll_initial_seconds=0.01,
        poll_max_seconds=0.05,
        **{**FAST_SETTINGS, **overrides},
    )


def gunzip(path: Path) -> bytes:
    with gzip.open(path) as handle:
        return handle.read()
