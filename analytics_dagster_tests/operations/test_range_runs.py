"""Every range run leaves every day right, through the entry points users have (the `dagster` CLI, the Makefile's
recovery step): after loading a week day by day, or as one range run, every metric table equals a from-scratch
recompute over the same loaded data, and every day's state says what is loaded. A run killed with SIGKILL is
followed by a successful run of the same partition without manual steps."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg

from analytics_dagster.lib.day_state import DayStatus
from analytics_dagster.lib.dwh.tables import DWH_TABLES
from analytics_dagster.lib.metrics.daily import METRIC_DAYS
from analytics_dagster.lib.metrics.rules import LATE_DAYS
from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster.lib.warehouse import Warehouse, make_warehouse
from analytics_dagster_tests.metrics.compare import assert_same_rows

FIRST = dt.date(2026, 11, 10)
WEEK = [FIRST + dt.timedelta(days=k) for k in range(7)]
# the DWH multi-asset whole (it cannot be subset)
DWH_SELECTION = ",".join(DWH_TABLES)
METRIC_KEYS = {
    "metrics_activity": ["dimension", "segment"],
    "metrics_top_events": ["dimension", "segment", "event_rank"],
    "metrics_lifecycle": ["metric_date"],
    "metrics_retention_daily": ["cohort_type", "cohort_date", "day_number"],
    "metrics_retention_weekly": ["cohort_type", "cohort_start", "week_label"],
    "metrics_user_engagement": ["user_key"],
    "metrics_ab_tests": ["experiment", "metric", "variant"],
    "metrics_forecasts": ["series", "forecast_date"],
}
# ingest, DWH and every metric table (replays and the report files have tests of their own)
SELECTION = ",".join(["amplitude_raw_events", "appmetrica_raw_events", "imported_events", *DWH_TABLES, *METRIC_KEYS])
CLI_TIMEOUT_S = 1200  # generous: the machine may be loaded


def dagster_env(root: Path, **extra: str) -> dict[str, str]:
    home = root / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AMPLITUDE_", "APPMETRICA_", "WAREHOUSE", "POSTGRES_", "S3_"))
    }
    env.update(
        {
            "ANALYTICS_DATA_DIR": str(root / "data"),
            "DAGSTER_HOME": str(home),
            "ANALYTICS_START_DATE": "2026-11-01",
            "DEMO_EVENTS_PER_DAY": "300",
            **extra,
        }
    )
    return env


def dagster_cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    executable = str(Path(sys.executable).parent / "dagster")
    process = subprocess.run(
        [executable, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )
    if check:
        assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-3000:]
    return process


def materialize(env: dict[str, str], *partition_args: str) -> None:
    dagster_cli(
        env, "asset", "materialize", "-m", "analytics_dagster.definitions", "--select", SELECTION, *partition_args
    )


def assert_every_metric_day_equals_a_recompute(warehouse: Warehouse, days: list[dt.date]) -> None:
    experiments = str(PROJECT_ROOT / "config" / "experiments.yaml")
    for table, keys in METRIC_KEYS.items():
        for day in days:
            options = {"experiments_file": experiments} if table == "metrics_ab_tests" else {}
            expected = METRIC_DAYS[table](warehouse, day, **options).frame
            stored = warehouse.query_df(f"SELECT * FROM {table} WHERE metric_date = $day", {"day": day})
            try:
                assert_same_rows(stored, expected, keys=keys)
            except AssertionError as error:
                raise AssertionError(f"{table} of {day} differs from a recompute: {error}") from error


def instance_of(env: dict[str, str]) -> dg.DagsterInstance:
    """The instance the CLI runs recorded to."""
    return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])


def latest_state(instance: dg.DagsterInstance, asset: str, day: dt.date) -> str:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[day.isoformat()]), limit=1
    )
    return records.records[0].event_log_entry.asset_materialization.metadata["day_state"].value


def test_a_week_loaded_day_by_day_through_the_cli_equals_a_full_recompute(tmp_path):
    env = dagster_env(tmp_path)
    for day in WEEK:
        materialize(env, "--partition", day.isoformat())
    warehouse = make_warehouse("duckdb", duckdb_path=str(tmp_path / "data" / "warehouse.duckdb"))
    assert_every_metric_day_equals_a_recompute(warehouse, WEEK)
    with instance_of(env) as instance:
        states = {day: latest_state(instance, "metrics_activity", day) for day in WEEK}
    # The last LATE_DAYS days still wait for uploads; the days before have every upload day loaded.
    assert [states[day] for day in WEEK] == (
        [DayStatus.FINAL.value] * (len(WEEK) - LATE_DAYS) + [DayStatus.PRELIMINARY.value] * LATE_DAYS
    )


def test_a_range_run_on_postgres_equals_a_full_recompute_and_names_its_gaps(tmp_path, postgres_dsn):
    env = dagster_env(tmp_path, WAREHOUSE="postgres", POSTGRES_DSN=postgres_dsn)
    # A range that starts after a gap: the three metric days before it are recomputed from partial data, and
    # say so (the "final figures" with DAU 22 of 660).
    materialize(env, "--partition-range", f"{WEEK[3]}...{WEEK[-1]}")
    warehouse = make_warehouse("postgres", postgres_dsn=postgres_dsn)
    touched = [WEEK[3] - dt.timedelta(days=k) for k in range(LATE_DAYS, 0, -1)] + WEEK[3:]
    assert_every_metric_day_equals_a_recompute(warehouse, touched)
    stored = warehouse.query_df("SELECT DISTINCT metric_date FROM metrics_activity")
    assert sorted(stored["metric_date"].map(lambda d: d if isinstance(d, dt.date) else d.date())) == touched
    # The gap is then filled by a second range run: every day again equals a recompute.
    materialize(env, "--partition-range", f"{WEEK[0]}...{WEEK[2]}")
    assert_every_metric_day_equals_a_recompute(warehouse, WEEK)


def _wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


def test_a_killed_run_is_recovered_and_the_partition_reruns(tmp_path):
    env = dagster_env(tmp_path, DEMO_EVENTS_PER_DAY="20000")
    day = WEEK[0].isoformat()
    dagster_cli(env, "instance", "concurrency", "set", "warehouse", "1")
    dagster_cli(
        env,
        "asset",
        "materialize",
        "-m",
        "analytics_dagster.definitions",
        "--select",
        "amplitude_raw_events,appmetrica_raw_events",
        "--partition",
        day,
    )
    load_day = [
        str(Path(sys.executable).parent / "dagster"),
        "asset",
        "materialize",
        "-m",
        "analytics_dagster.definitions",
        "--select",
        DWH_SELECTION,
        "--partition",
        day,
    ]
    scratch = tmp_path / "data" / "scratch"
    process = subprocess.Popen(
        load_day,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        # Killed while the DWH step works in its scratch folder, holding the warehouse pool slot.
        _wait_for(lambda: scratch.is_dir() and any(scratch.glob("*/*")), CLI_TIMEOUT_S, "the DWH step to start")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with instance_of(env) as instance:
        stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        assert len(stuck) == 1, "the killed run stays STARTED until recovered"
        assert instance.event_log_storage.get_concurrency_info("warehouse").active_slot_count == 1
    killed_run = stuck[0].run_id

    # What `make run` does first; under dagster-daemon the dead_run_recovery sensor does the same every minute.
    recovery = subprocess.run(
        [sys.executable, "-m", "analytics_dagster.recover"],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert recovery.returncode == 0 and f"recovered run {killed_run}" in recovery.stdout, recovery.stderr
    assert not (scratch / killed_run).exists(), "the dead run's scratch folder is removed"
    # Without the recovery this run would wait for ever on "blocked by limit for pool warehouse".
    dagster_cli(env, *load_day[1:])
    with instance_of(env) as instance:
        assert instance.get_run_by_id(killed_run).status == dg.DagsterRunStatus.FAILURE
        assert instance.event_log_storage.get_concurrency_info("warehouse").active_slot_count == 0
        assert instance.get_latest_materialization_event(dg.AssetKey("events_part")) is not None
    assert not any(scratch.glob("*/*")), "no scratch folder outlives its run"
