import datetime as dt
import os
import subprocess
import sys
from itertools import islice
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
from dagster._utils.schedules import schedule_execution_time_iterator

from analytics_dagster import settings
from analytics_dagster.definitions import defs
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.schedules import daily_ingest_job

MOSCOW = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    return defs()


def test_partitions_are_moscow_days_from_the_configured_start():
    assert isinstance(daily_partitions, dg.DailyPartitionsDefinition)
    assert daily_partitions.timezone == "Europe/Moscow"
    assert daily_partitions.start.date().isoformat() == settings.start_date()
    keys = daily_partitions.get_partition_keys(current_time=dt.datetime(2026, 3, 16, 0, 30, tzinfo=MOSCOW))
    # At 00:30 Moscow on the 16th the 15th is complete (though it is still the 15th in UTC).
    assert keys[-1] == "2026-03-15"
    window = daily_partitions.time_window_for_partition_key("2026-03-15")
    assert window.start == dt.datetime(2026, 3, 15, tzinfo=MOSCOW)
    assert window.start.astimezone(dt.UTC) == dt.datetime(2026, 3, 14, 21, tzinfo=dt.UTC)


def _ticks_daily_at_0900_moscow(schedule: dg.ScheduleDefinition) -> bool:
    """Whether the schedule's ticks, as the daemon computes them from its cron and time zone, come every day at
    09:00 Moscow (looked at across a month end)."""
    start = dt.datetime(2026, 2, 27, tzinfo=MOSCOW).timestamp()
    ticks = schedule_execution_time_iterator(start, schedule.cron_schedule, schedule.execution_timezone)
    days = [dt.date(2026, 2, 27), dt.date(2026, 2, 28), dt.date(2026, 3, 1)]
    return list(islice(ticks, len(days))) == [dt.datetime.combine(day, dt.time(9), MOSCOW) for day in days]


def test_the_0900_moscow_schedule_requests_the_previous_moscow_day_of_the_ingest(definitions):
    repository = definitions.get_repository_def()
    [schedule] = [s for s in repository.schedule_defs if _ticks_daily_at_0900_moscow(s)]
    # Ticks across a month end and a year end, given as Moscow times and as the same instants in UTC.
    for tick, previous_day in [
        (dt.datetime(2026, 3, 16, 9, tzinfo=MOSCOW), "2026-03-15"),
        (dt.datetime(2026, 3, 1, 9, tzinfo=MOSCOW), "2026-02-28"),
        (dt.datetime(2026, 1, 1, 6, tzinfo=dt.UTC), "2025-12-31"),
    ]:
        with (
            dg.instance_for_test() as instance,
            dg.build_schedule_context(instance=instance, scheduled_execution_time=tick) as context,
        ):
            requests = schedule.evaluate_tick(context).run_requests
        assert [r.partition_key for r in requests] == [previous_day], tick
        job = repository.get_job(requests[0].job_name or schedule.job_name)
        assert {dg.AssetKey("amplitude_raw_events"), dg.AssetKey("appmetrica_raw_events")} <= set(
            job.asset_layer.executable_asset_keys
        ), f"the 09:00 schedule's job {job.name} does not start the ingest"


def test_every_asset_is_daily_partitioned_with_one_backfill_policy(definitions):
    graph = definitions.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert node.partitions_def == daily_partitions, f"{key} is not on the daily Moscow partitions"
        assert node.backfill_policy == RANGE_BACKFILL_POLICY, f"{key} would split a range run: {node.backfill_policy}"


def test_the_schedule_starts_the_ingest_and_every_later_stage_follows_on_its_own(definitions):
    graph = definitions.resolve_asset_graph()
    job = definitions.resolve_job_def(daily_ingest_job.name)
    assert {key.to_user_string() for key in job.asset_layer.executable_asset_keys} == {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).group_name == "ingest"
    }
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable and node.group_name != "ingest":
            assert node.automation_condition is not None, f"{key} does not follow its upstream"
    sensors = {sensor.name for sensor in definitions.sensors}
    assert {"dwh_automation", "metrics_automation", "replays_automation"} <= sensors


RESOLVE_EVERY_JOB = """
from analytics_dagster.definitions import defs
definitions = defs()
for job in definitions.resolve_all_job_defs():
    print(job.name)
definitions.resolve_implicit_global_asset_job_def()
"""


def test_loading_and_resolving_every_job_prints_no_warning(tmp_path):
    # A fresh interpreter, as the webserver's code server loads the location, with every warning an error.
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", RESOLVE_EVERY_JOB], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "daily_ingest" in result.stdout.split()
    assert "warn" not in result.stderr.lower(), result.stderr[-3000:]


def test_bad_start_date_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("ANALYTICS_START_DATE", "15.03.2026")
    with pytest.raises(ValueError, match="ANALYTICS_START_DATE"):
        settings.start_date()


def test_every_warehouse_asset_queues_in_the_warehouse_pool(definitions):
    from analytics_dagster.defs.resources import WAREHOUSE_POOL

    graph = definitions.resolve_asset_graph()
    users = [graph.assets_def_for_key(key) for key in graph.get_all_asset_keys() if graph.get(key).is_materializable]
    users = [a for a in users if "warehouse" in a.required_resource_keys]
    assert users, "no asset uses the warehouse"
    for assets_def in users:
        assert assets_def.op.pool == WAREHOUSE_POOL, f"{assets_def.keys} writes the warehouse outside the pool"
