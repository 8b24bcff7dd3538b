"""What operating the platform costs: wall time of whole runs through the `dagster` CLI beside the time their steps
took themselves (from the run's event log), on the demo source and embedded defaults, in a temporary data folder.

    python benchmarks/pipeline_runs.py one-day                 # every asset for one day (5,000 events a day)
    python benchmarks/pipeline_runs.py backfill --days 30 --events 100000
                                                               # ingest, DWH and metrics over 30 days, one range run
    python benchmarks/pipeline_runs.py one-day --project /path/to/an/older/checkout   # the same on other code

The goal (issue 11): wall time at most 2 x the summed step time for the one-day run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from analytics_dagster.lib.dwh.tables import DWH_TABLES

PROJECT = Path(__file__).resolve().parents[1]
STEP_END = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)


def step_seconds(instance: dg.DagsterInstance, run_id: str) -> dict[str, float]:
    """Each step's own time: from its STEP_START to its STEP_SUCCESS / STEP_FAILURE."""
    started: dict[str, float] = {}
    took: dict[str, float] = {}
    for record in instance.all_logs(run_id):
        event = record.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            started[event.step_key] = record.timestamp
        elif event.event_type in STEP_END and event.step_key in started:
            took[event.step_key] = record.timestamp - started[event.step_key]
    return took


def run_cli(project: Path, env: dict[str, str], args: list[str]) -> float:
    began = time.perf_counter()
    process = subprocess.run(
        [str(Path(sys.executable).parent / "dagster"), *args], cwd=project, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - began
    if process.returncode != 0:
        sys.exit(f"dagster {' '.join(args)} failed:\n{process.stderr[-4000:]}")
    return wall


def measure(project: Path, events: int, partition_args: list[str], selection: str) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        home = root / "dagster_home"
        home.mkdir()
        shutil.copy(project / "dagster.yaml", home / "dagster.yaml")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMPLITUDE_", "APPMETRICA_", "WAREHOUSE"))}
        env.update(
            ANALYTICS_DATA_DIR=str(root / "data"),
            DAGSTER_HOME=str(home),
            DEMO_EVENTS_PER_DAY=str(events),
            ANALYTICS_START_DATE="2026-01-01",
            PYTHONPATH=str(project),
        )
        wall = run_cli(
            project,
            env,
            ["asset", "materialize", "-m", "analytics_dagster.definitions", "--select", selection, *partition_args],
        )
        with dg.DagsterInstance.from_config(str(home)) as instance:
            runs = instance.get_runs()
            steps: dict[str, float] = {}
            for run in runs:
                steps.update({f"{run.run_id[:8]}:{k}": v for k, v in step_seconds(instance, run.run_id).items()})
        summed = sum(steps.values())
        print(f"runs: {len(runs)}, steps: {len(steps)}")
        for step, seconds in sorted(steps.items(), key=lambda item: -item[1])[:8]:
            print(f"  {seconds:8.1f} s  {step.split(':', 1)[1]}")
        print(f"wall time:        {wall:8.1f} s")
        print(f"summed step time: {summed:8.1f} s")
        print(f"wall / steps:     {wall / summed:8.2f}  (goal: at most 2.00 for one day)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["one-day", "backfill"])
    parser.add_argument("--days", type=int, default=30, help="backfill: days in the range")
    parser.add_argument("--events", type=int, help="demo events per day and source (one-day: 5000, backfill: 100000)")
    parser.add_argument("--project", type=Path, default=PROJECT, help="the checkout to measure")
    args = parser.parse_args()
    last = dt.date(2026, 3, 31)
    if args.scenario == "one-day":
        events = args.events or 5000
        print(f"== one day ({last}) of every asset, {events:,} demo events per source, project {args.project}")
        measure(args.project, events, ["--partition", last.isoformat()], "*")
    else:
        events = args.events or 100_000
        first = last - dt.timedelta(days=args.days - 1)
        print(f"== backfill {first}..{last} of ingest, DWH and metrics, {events:,} demo events per source and day")
        # every ancestor of the report, and the DWH multi-asset whole (it cannot be subset)
        measure(
            args.project, events, ["--partition-range", f"{first}...{last}"], "*metrics_report," + ",".join(DWH_TABLES)
        )


if __name__ == "__main__":
    main()
