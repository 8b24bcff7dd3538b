"""Late events: a day's metrics change as its late upload partitions land, up to LATE_DAYS days later and no
further; a metric run for upload day U recomputes the days U-LATE_DAYS..U, and the automation sensor runs it when
the upload partition lands."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pandas as pd

from analytics_dagster.defs.automation import FOLLOWS_UPSTREAM, metrics_automation
from analytics_dagster.defs.metrics import assets as metric_assets
from analytics_dagster.defs.partitions import RANGE_BACKFILL_POLICY, daily_partitions
from analytics_dagster.defs.resources import WAREHOUSE_POOL
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.rules import LATE_DAYS
from analytics_dagster_tests.metrics.compare import assert_same_rows
from analytics_dagster_tests.metrics.conftest import ALL_METRIC_ASSETS, materialize_day
from analytics_dagster_tests.metrics.dataset import Dataset, load_dataset
from analytics_dagster_tests.metrics.reference import Reference

DAY = dt.date(2026, 3, 1)
SQL_ASSETS = [
    metric_assets.metrics_activity,
    metric_assets.metrics_retention_daily,
    metric_assets.metrics_user_engagement,
]


def uploaded_by(dataset: Dataset, last_partition: dt.date) -> Dataset:
    return Dataset(
        *(
            frame[frame["partition_date"] <= last_partition].reset_index(drop=True)
            for frame in (dataset.events, dataset.event_properties, dataset.user_properties)
        )
    )


def test_late_uploads_count_up_to_late_days(dataset, duckdb_resource):
    warehouse = duckdb_resource.get()
    events = dataset.events
    lateness = (pd.to_datetime(events["partition_date"]) - pd.to_datetime(events["event_date"])).dt.days
    late_for_day = lateness[events["event_date"] == DAY]
    assert set(late_for_day) >= {0, 1, 2, 3}, "the dataset needs events of DAY uploaded 1..3 days late"

    figures = []
    for extra_days in range(LATE_DAYS + 3):
        partial = uploaded_by(dataset, DAY + dt.timedelta(days=extra_days))
        load_dataset(warehouse, partial)
        materialize_day(SQL_ASSETS, DAY, {"warehouse": duckdb_resource})
        reference = Reference(partial)
        activity = warehouse.query_df("SELECT * FROM metrics_activity WHERE metric_date = $day", {"day": DAY})
        assert_same_rows(activity, reference.activity(DAY), keys=["dimension", "segment"])
        retention = warehouse.query_df("SELECT * FROM metrics_retention_daily WHERE metric_date = $day", {"day": DAY})
        assert_same_rows(retention, reference.retention_daily(DAY), keys=["cohort_type", "cohort_date", "day_number"])
        figures.append(activity.set_index(["dimension", "segment"])[["dau", "events"]].to_dict())
    # Each late partition within LATE_DAYS changed the day; the ones after it did not.
    assert all(figures[k] != figures[k + 1] for k in range(LATE_DAYS))
    assert figures[LATE_DAYS] == figures[LATE_DAYS + 1] == figures[LATE_DAYS + 2]


def test_events_more_than_late_days_late_never_count(duckdb_resource):
    warehouse = duckdb_resource.get()
    event_time = dt.datetime(2026, 3, 1, 9, 0)  # 12:00 Moscow
    rows = []
    for delay in (0, LATE_DAYS, LATE_DAYS + 1):
        rows.append(
            {
                "uuid": f"e{delay}",
                "source": "amplitude",
                "partition_date": DAY + dt.timedelta(days=delay),
                "event_type": "Page Viewed",
                "event_time": event_time,
                "event_date": DAY,
                "user_key": f"user-{delay}",
                "platform": "Web",
            }
        )
    no_properties = pd.DataFrame(
        columns=["uuid", "source", "partition_date", "event_time", "event_type", "event_properties"]
    )
    no_user_properties = pd.DataFrame(
        columns=[
            "uuid",
            "source",
            "partition_date",
            "user_key",
            "event_time",
            "user_properties",
            "migrated",
            "property_count",
            "mapped_count",
        ]
    )
    load_dataset(warehouse, Dataset(pd.DataFrame(rows), no_properties, no_user_properties))
    materialize_day([metric_assets.metrics_activity], DAY, {"warehouse": duckdb_resource})
    overall = warehouse.query_df(
        "SELECT dau FROM metrics_activity WHERE metric_date = $day AND dimension = 'all'", {"day": DAY}
    )
    assert int(overall["dau"].iloc[0]) == 2  # on time and LATE_DAYS late; not LATE_DAYS + 1


def _definitions(assets, object_store_resource, duckdb_resource, **kwargs) -> dg.Definitions:
    return dg.Definitions(
        assets=assets, resources={"warehouse": duckdb_resource, "object_store": object_store_resource}, **kwargs
    )


def test_metric_partition_follows_the_upload_partition_of_its_day(object_store_resource, duckdb_resource):
    asset_graph = _definitions(ALL_METRIC_ASSETS, object_store_resource, duckdb_resource).resolve_asset_graph()
    for asset in ALL_METRIC_ASSETS:
        node = asset_graph.get(asset.key)
        assert node.group_name == "metrics" and node.partitions_def == daily_partitions
        assert node.automation_condition == FOLLOWS_UPSTREAM
        assert node.backfill_policy == RANGE_BACKFILL_POLICY
        assert asset.op.pool == WAREHOUSE_POOL
    # Partition D follows events_part D with Dagster's default (same day) mapping: no window of later days.
    node = asset_graph.get(metric_assets.metrics_activity.key)
    assert dg.AssetKey("events_part") in node.parent_keys
    assert metric_assets.metrics_activity.get_partition_mapping(dg.AssetKey("events_part")) is None


def _moscow(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.timezone(dt.timedelta(hours=3)))


def test_an_upload_partition_landing_requests_its_metric_partition_once(object_store_resource, duckdb_resource):
    @dg.asset(key="events_part", partitions_def=daily_partitions, group_name="dwh")
    def events_part_stub() -> None:
        """Stands in for the DWH multi-asset."""

    defs = _definitions(
        [events_part_stub, *ALL_METRIC_ASSETS], object_store_resource, duckdb_resource, sensors=[metrics_automation]
    )
    instance = dg.DagsterInstance.ephemeral()

    def evaluate(now: dt.datetime, cursor):
        return dg.evaluate_automation_conditions(defs=defs, instance=instance, evaluation_time=now, cursor=cursor)

    tick = evaluate(_moscow(dt.date(2026, 3, 16), 9), None)
    assert tick.total_requested == 0, "nothing is loaded yet"
    # An old upload day re-loaded (a late re-export) as well as the newest: each requests its own metric
    # partition, whose run recomputes the days its late events belong to.
    for day in ("2026-03-02", "2026-03-15"):
        instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="events_part", partition=day))
    tick = evaluate(_moscow(dt.date(2026, 3, 16), 10), tick.cursor)
    for asset in ALL_METRIC_ASSETS:
        assert tick.get_requested_partitions(asset.key) == {"2026-03-02", "2026-03-15"}, asset.key
    tick = evaluate(_moscow(dt.date(2026, 3, 16), 11), tick.cursor)
    assert tick.total_requested == 0, "each landed upload partition is handled once"


def test_a_run_over_upload_days_records_every_metric_day_it_recomputes(materialized):
    # The fixture ran the metrics for partition 2026-03-15 alone: its upload day can hold events of the three days
    # before, so those metric days were recomputed too and recorded as materializations of their partitions.
    result = materialized.results[dt.date(2026, 3, 15)]
    for asset in ("metrics_activity", "metrics_report"):
        partitions = {m.partition for m in result.asset_materializations_for_node(asset)}
        assert partitions == {f"2026-03-{d:02d}" for d in range(12, 16)}, asset
    for day in (dt.date(2026, 3, d) for d in range(12, 16)):
        stored = materialized.table("metrics_activity", day)
        assert_same_rows(stored, materialized.reference.activity(day), keys=["dimension", "segment"])


def test_forecast_history_starts_at_the_first_upload_partition(dataset, duckdb_resource):
    warehouse = duckdb_resource.get()
    first_upload = DAY - dt.timedelta(days=10)
    loaded = Dataset(
        *(
            frame[frame["partition_date"] >= first_upload].reset_index(drop=True)
            for frame in (dataset.events, dataset.event_properties, dataset.user_properties)
        )
    )
    stragglers = loaded.events[loaded.events["event_date"] < first_upload]
    assert len(stragglers) > 0, "the first loaded upload day holds late events of the days before"
    load_dataset(warehouse, loaded)
    queries.ensure_schema(warehouse)
    series = queries.daily_series(warehouse, DAY)
    assert series["event_date"].min() == first_upload
