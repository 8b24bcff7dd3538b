"""``make status`` on a real instance: per group the newest partition, its state, failing checks and freshness."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import dagster as dg

from analytics_dagster.defs.ops.groups import GROUP_ASSETS
from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.lib.settings import PROJECT_ROOT
from analytics_dagster.status import collect

NOW = dt.datetime(2026, 3, 16, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=3)))
REPLAY_KEY = GROUP_ASSETS["replays"][0]


@dg.asset(key=REPLAY_KEY, partitions_def=daily_partitions)
def broken_replays() -> None:
    raise RuntimeError("browser crashed")


def _materialize(instance, key: dg.AssetKey, day: str, **metadata) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=day, metadata=metadata))


def test_status_reads_states_checks_and_freshness_from_the_instance():
    with dg.instance_for_test() as instance:
        for key in GROUP_ASSETS["ingest"]:
            _materialize(instance, key, "2026-03-15")
        for key in GROUP_ASSETS["dwh"]:  # the DWH has not loaded the 15th: late
            _materialize(instance, key, "2026-03-14")
        for key in GROUP_ASSETS["metrics"]:
            _materialize(instance, key, "2026-03-15", day_state="preliminary")
        for key in GROUP_ASSETS["replays"]:
            _materialize(instance, key, "2026-03-14")
        failed = dg.materialize([broken_replays], partition_key="2026-03-15", instance=instance, raise_on_error=False)
        assert not failed.success
        check = dg.AssetCheckKey(GROUP_ASSETS["ingest"][0], "rows_match")
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(
                asset_key=check.asset_key,
                check_name=check.name,
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description="3 rows differ",
            )
        )

        statuses = {s.group: s for s in collect(instance, [check], NOW)}

    ingest, dwh, metrics, replays = (statuses[g] for g in ("ingest", "dwh", "metrics", "replays"))
    assert (ingest.newest, ingest.state, ingest.late) == ("2026-03-15", "final", False)
    assert [str(c) for c in ingest.failing_checks] == [f"{check.asset_key.to_user_string()}:rows_match (ERROR)"]
    assert not ingest.healthy
    assert (dwh.newest, dwh.state, dwh.late, dwh.failing_checks) == ("2026-03-14", "final", True, ())
    assert (metrics.newest, metrics.state, metrics.healthy) == ("2026-03-15", "preliminary", True)
    assert (replays.newest, replays.state, replays.late) == ("2026-03-15", "failed", True)


def test_make_status_exits_non_zero_when_nothing_is_fresh(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "ANALYTICS_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run(
        [sys.executable, "-m", "analytics_dagster.status", "--json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert {g["group"] for g in report["groups"]} == {"ingest", "dwh", "metrics", "replays"}
    assert all(g["late"] and g["state"] == "nothing materialized" for g in report["groups"])
