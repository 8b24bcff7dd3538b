import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.schedules import daily_ingest_job, daily_pipeline_schedule
from analytics_dagster.definitions import defs
from analytics_dagster.lib import settings

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


def test_schedule_is_0900_moscow_as_the_ui_shows_it():
    assert daily_pipeline_schedule.cron_schedule == "0 9 * * *"
    assert daily_pipeline_schedule.execution_timezone == "Europe/Moscow"


def test_tick_at_0900_msk_requests_the_previous_day(definitions):
    schedule = definitions.get_schedule_def("daily_pipeline_at_0900_msk")
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2026, 3, 16, 9, 0, tzinfo=MOSCOW)
        )
        requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-03-15"]
    assert requests[0].job_name == daily_ingest_job.name


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
        key.to_user_string() for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).group_name == "ingest"}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable and node.group_name != "ingest":
            assert node.automation_condition is not None, f"{key} does not follow its upstream"
    sensors = {sensor.name for sensor in definitions.sensors}
    assert {"dwh_automation", "metrics_automation", "replays_automation"} <= sensors


def test_loading_and_resolving_every_job_prints_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        definitions = defs()
        for job in definitions.resolve_all_job_defs():
            assert job.name
        definitions.resolve_implicit_global_asset_job_def()


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
