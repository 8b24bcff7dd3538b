"""Real local servers for the observability tests: a webhook that records every post, and Debian's
prometheus-pushgateway started on a free 127.0.0.1 port (a missing binary fails the test under CI=true)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from analytics_dagster.lib.local_http import serve_http
from analytics_dagster_tests.conftest import free_port, wait_for_port

PUSHGATEWAY_BINARIES = ("prometheus-pushgateway", "pushgateway")


@dataclass
class Post:
    path: str
    body: str

    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class WebhookRecorder:
    url: str
    posts: list[Post] = field(default_factory=list)
    status: int = 200  # what the webhook answers


@pytest.fixture
def webhook() -> Iterator[WebhookRecorder]:
    recorder = WebhookRecorder(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            recorder.posts.append(Post(self.path, body))
            self.send_response(recorder.status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args) -> None:
            pass

    with serve_http(Handler) as url:
        recorder.url = url
        yield recorder


def _pushgateway_binary() -> str:
    for name in PUSHGATEWAY_BINARIES:
        if path := shutil.which(name):
            return path
    message = "prometheus-pushgateway is not installed (scripts/install_system_packages.sh installs Debian's package)"
    if os.getenv("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pushgateway() -> Iterator[str]:
    """A fresh Pushgateway on 127.0.0.1 without persistence; yields its base URL."""
    binary = _pushgateway_binary()
    port = free_port()
    process = subprocess.Popen(
        [binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def scrape(pushgateway_url: str) -> list[tuple[str, dict[str, str], float]]:
    """Every sample the Pushgateway exposes: (name, labels, value)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{pushgateway_url}/metrics", timeout=30).text
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]
