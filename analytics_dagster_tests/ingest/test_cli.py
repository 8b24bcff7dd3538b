"""What a new user does: point AMPLITUDE_API_URL and the keys at a server that speaks the Export API, then run the
documented `dagster asset materialize` command, in a fresh process with a fresh DAGSTER_HOME."""

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster_tests.ingest.fault_server import FaultPlan, FaultServer

DAY = "2026-03-15"


def test_dagster_asset_materialize_fetches_the_day_from_the_configured_export_api(tmp_path):
    (tmp_path / "home").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMPLITUDE_", "APPMETRICA_", "S3_"))}
    with FaultServer(FaultPlan(script=("429", "cut_zip")), days=[DAY]) as server:
        env.update(
            AMPLITUDE_API_URL=server.url,
            AMPLITUDE_API_KEY=server.state.api_key,
            AMPLITUDE_SECRET_KEY=server.state.secret_key,
            ANALYTICS_DATA_DIR=str(tmp_path / "data"),
            DAGSTER_HOME=str(tmp_path / "home"),
        )
        command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
                   "analytics_dagster.definitions", "--select", "amplitude_raw_events", "--partition", DAY]  # fmt: skip
        process = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1500)
        expected = server.expected_amplitude_day(DAY)
        statuses = [r.status for r in server.records]
    output = process.stdout + process.stderr
    assert process.returncode == 0, output[-4000:]
    assert statuses == [429, 200, 200]  # Retry-After honoured, the truncated ZIP fetched again
    folder = tmp_path / "data" / "objects" / "raw" / "amplitude" / DAY
    assert {p.name: p.read_bytes() for p in folder.glob("*.json.gz")} == expected
    manifest = json.loads((folder / "_manifest.json").read_text())
    assert manifest["origin"] == "export_api" and len(manifest["files"]) == len(expected)
    assert "retry 1/7" in output and "truncated or corrupt ZIP" in output
    credentials = f"{server.state.api_key}:{server.state.secret_key}".encode()
    assert server.state.secret_key not in output and base64.b64encode(credentials).decode() not in output
