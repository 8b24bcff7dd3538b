"""End to end, as a new user meets it: `make run` for a day, then the UI and the report server as `make dev` starts
them; in headless Chromium, the report links on the asset pages open the reports.

Slow (a whole pipeline run, then a real dagster-webserver): marked ``e2e``; ``pytest -m "not e2e"`` leaves it out.
"""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from analytics_dagster.lib.replays.browser import default_chromium_path
from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster_tests.conftest import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(3600)]

BIN = Path(sys.executable).parent
DAY = "2026-03-15"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
# Settings that would take the run off the embedded defaults (local folder, DuckDB, demo sources, offline LLM).
NOT_EMBEDDED = ("S3_BUCKET", "WAREHOUSE", "DUCKDB_PATH", "AMPLITUDE_API_KEY", "AMPLITUDE_SECRET_KEY",
                "AMPLITUDE_S3_EXPORT_PREFIX", "APPMETRICA_TOKEN", "APPMETRICA_APPLICATION_ID", "OPENAI_API_KEY",
                "OPENAI_BASE_URL", "GDRIVE_FOLDER_ID")  # fmt: skip
# Generous: the machine may be busy; every wait ends as soon as its condition holds.
SERVER_START_SECONDS = 300
UI_TIMEOUT_MS = 180_000


def _wait_until_answering(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} exited with {process.returncode} before answering")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(1)
    pytest.fail(f"{what} did not answer {url} within {SERVER_START_SECONDS} s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=60)


@pytest.fixture(scope="module")
def running_platform(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A day materialized like `make run` (small demo sizes), then the webserver and the report server up."""
    root = tmp_path_factory.mktemp("e2e")
    home = root / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    reports_port, ui_port = free_port(), free_port()
    reports_url = f"http://127.0.0.1:{reports_port}"
    env = {name: value for name, value in os.environ.items() if name not in NOT_EMBEDDED}
    env.update(
        DAGSTER_HOME=str(home),
        ANALYTICS_DATA_DIR=str(root / "data"),
        DEMO_EVENTS_PER_DAY="300",
        REPLAY_MAX_PER_DAY="2",
        REPORTS_BASE_URL=reports_url,
    )
    run = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "analytics_dagster.definitions", "--select", "*",
         "--partition", DAY],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=2400,
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-6000:]

    reports = subprocess.Popen(
        [sys.executable, "-m", "analytics_dagster.report_server", "--port", str(reports_port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ui = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(ui_port), "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ui_url = f"http://127.0.0.1:{ui_port}"
    try:
        _wait_until_answering(reports_url, reports, "the report server")
        _wait_until_answering(f"{ui_url}/server_info", ui, "dagster-webserver")
        # What the community pop-up's "Skip" does: it would otherwise cover the page on a fresh instance.
        seen = httpx.post(f"{ui_url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=120)
        assert seen.json() == {"data": {"setNuxSeen": True}}
        yield {"ui": ui_url, "reports": reports_url}
    finally:
        _stop(ui)
        _stop(reports)


@pytest.mark.parametrize(
    ("asset", "entry", "title"),
    [
        ("metrics_report", "dashboard", rf"Product metrics {DAY}"),
        ("replay_report", "report", rf"Session replays — {DAY}"),
    ],
)
def test_the_report_link_on_the_asset_page_opens_the_report(running_platform, asset, entry, title):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=default_chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1200})
            page.goto(f"{running_platform['ui']}/assets/{asset}", timeout=UI_TIMEOUT_MS)
            key_cell = page.locator("td:first-child", has_text=re.compile(rf"^\s*{entry}\s*$"))
            link = page.locator("tr", has=key_cell).locator("a[title='Open in a new tab']")
            link.wait_for(state="visible", timeout=UI_TIMEOUT_MS)
            href = link.get_attribute("href")
            assert href.startswith(f"{running_platform['reports']}/reports/"), href
            assert DAY in href
            with page.context.expect_page(timeout=UI_TIMEOUT_MS) as opened:
                link.click(timeout=UI_TIMEOUT_MS)
            report = opened.value
            report.wait_for_load_state("domcontentloaded", timeout=UI_TIMEOUT_MS)
            assert report.url == href
            expect(report).to_have_title(re.compile(title), timeout=UI_TIMEOUT_MS)
        finally:
            browser.close()
