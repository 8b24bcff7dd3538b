"""`python -m analytics_dagster.import_events` in a fresh process, as a user runs it: a dry run, then the import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from analytics_dagster.lib.imports.landing import landing_day_prefix
from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.raw_store import publish_day
from analytics_dagster.lib.warehouse import DuckDBWarehouse
from analytics_dagster_tests.imports.conftest import DAY, SEEDED_CSV, SEEDED_VALID, csv_bytes

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(data_dir / "dagster_home"),
        "PYTHONPATH": str(PROJECT_ROOT),
        "WAREHOUSE": "duckdb",
        "DUCKDB_PATH": str(data_dir / "warehouse.duckdb"),
    }
    for name in ("S3_BUCKET", "POSTGRES_DSN", "DWH_MAX_QUARANTINE_SHARE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "analytics_dagster.import_events", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_dry_run_then_import_from_the_command_line(tmp_path: Path, demo_days):
    data_dir = tmp_path / "data"
    store = LocalObjectStore(data_dir / "objects")
    for source, files in demo_days.items():
        publish_day(store, source, DAY, files, origin="demo")
    events = tmp_path / "events.csv"
    events.write_bytes(csv_bytes(SEEDED_CSV))

    dry = run_cli(data_dir, str(events), "--day", DAY, "--dry-run")
    assert dry.returncode == 1, dry.stderr  # invalid rows found
    assert f"| {landing_day_prefix(DAY)}events.csv | 4 | missing event_id |" in dry.stdout
    assert "Dry run: nothing was written. 5 invalid rows." in dry.stdout
    assert store.list_keys("landing/events") == [] and store.list_keys("raw/import") == []
    assert not (data_dir / "warehouse.duckdb").exists()

    refused = run_cli(data_dir, str(events), "--day", DAY)
    assert refused.returncode == 1
    assert "5 of 9 imported rows (duplicates dropped) are invalid" in refused.stderr
    assert "nothing was published" in refused.stderr

    imported = run_cli(data_dir, str(events), "--day", DAY, "--max-invalid-share", "0.6")
    assert imported.returncode == 0, imported.stderr
    assert f"DWH {DAY}: 4 imported events loaded, 5 quarantined" in imported.stdout
    loaded = DuckDBWarehouse(data_dir / "warehouse.duckdb").query_df(
        "SELECT insert_id FROM events_part WHERE source = 'import' ORDER BY insert_id"
    )
    assert loaded["insert_id"].tolist() == sorted(e for e in SEEDED_VALID if e.startswith("ok-"))

    assert run_cli(data_dir, str(tmp_path / "missing.csv"), "--day", DAY).returncode == 2
