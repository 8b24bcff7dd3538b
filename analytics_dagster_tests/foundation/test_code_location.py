"""The code location as operators meet it: `dg check defs`, and the webserver showing graph, schedule, partitions."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster_tests.conftest import free_port, stop_process

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 600  # generous: on a loaded machine the webserver and its code server take minutes to start


def test_dg_check_defs_passes_without_a_warning(tmp_path):
    shutil.copy(PROJECT_ROOT / "dagster.yaml", tmp_path / "dagster.yaml")  # the instance `make instance` sets up
    env = {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path),
        "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
        "VIRTUAL_ENV": str(BIN.parent),
    }
    result = subprocess.run(
        [str(BIN / "dg"), "check", "defs"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1500
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warn" not in (result.stdout + result.stderr).lower(), result.stdout + result.stderr


# What a clone needs to load the code location; tests, docs, data and virtualenvs stay behind.
_NOT_IN_THE_CLONE = {".git", ".venv", "data", "analytics_dagster_tests", "benchmarks", "docs", ".pytest_cache"}


def test_a_clone_in_a_folder_of_any_name_loads_without_location_name_warnings(tmp_path):
    clone = tmp_path / "checkout-with-another-name"
    shutil.copytree(
        PROJECT_ROOT,
        clone,
        ignore=lambda folder, names: [
            n for n in names if (folder == str(PROJECT_ROOT) and n in _NOT_IN_THE_CLONE) or n == "__pycache__"
        ],
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(clone),  # the clone's package, not the editable install of this checkout
        "DAGSTER_HOME": str(tmp_path / "home"),
        "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
    }
    (tmp_path / "home").mkdir()
    result = subprocess.run(
        [str(BIN / "dagster"), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Validation successful for code location analytics_dagster" in output
    assert "does not match" not in output and "checkout-with-another-name" not in output, output


SCHEDULES_AND_ASSETS = """
{
  workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError {
    ... on RepositoryLocation { repositories {
      schedules { name cronSchedule executionTimezone }
      assetNodes { assetKey { path } groupName partitionDefinition { type description } }
    } }
    ... on PythonError { message }
  } } } }
}
"""


@pytest.fixture
def webserver(tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ANALYTICS_DATA_DIR": str(tmp_path / "data")}
    process = subprocess.Popen(
        [str(BIN / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port), "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            assert process.poll() is None, f"dagster-webserver exited with {process.returncode}"
            try:
                if httpx.get(f"{url}/server_info", timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        else:
            pytest.fail(f"dagster-webserver did not answer within {STARTUP_SECONDS} s")
        yield url
    finally:
        stop_process(process)


def test_webserver_shows_graph_schedule_and_moscow_partitions(webserver):
    response = httpx.post(f"{webserver}/graphql", json={"query": SCHEDULES_AND_ASSETS}, timeout=STARTUP_SECONDS)
    (entry,) = response.json()["data"]["workspaceOrError"]["locationEntries"]
    (repository,) = entry["locationOrLoadError"]["repositories"]
    schedules = {s["name"]: s for s in repository["schedules"]}
    assert schedules["daily_pipeline_at_0900_msk"]["cronSchedule"] == "0 9 * * *"
    assert schedules["daily_pipeline_at_0900_msk"]["executionTimezone"] == "Europe/Moscow"
    assets = {"/".join(a["assetKey"]["path"]): a for a in repository["assetNodes"]}
    assert {"amplitude_raw_events", "appmetrica_raw_events", "events_part"} <= set(assets)
    for key, node in assets.items():
        assert node["partitionDefinition"]["type"] == "TIME_WINDOW", key
        assert "Europe/Moscow" in node["partitionDefinition"]["description"], key
