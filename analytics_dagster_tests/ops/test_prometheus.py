"""Prometheus figures against Debian's real prometheus-pushgateway: four demo days run through ingest, the DWH and
the activity metrics in one range run on a real instance, the push sensor evaluated after it, then the gateway's
/metrics scraped and compared with what the run stored in the instance."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from analytics_dagster.defs.ops.prometheus import prometheus_push_after_failure, prometheus_push_after_success
from analytics_dagster.defs.ops.resources import PushgatewayResource
from analytics_dagster.lib.day_state import DayStatus
from analytics_dagster_tests.conftest import load_demo_definitions
from analytics_dagster_tests.ops.conftest import scrape

DAYS = ["2026-03-15", "2026-03-16", "2026-03-17", "2026-03-18"]  # the 15th is final once the 16th..18th are loaded
MSK = dt.timezone(dt.timedelta(hours=3))
SECRETS = {"POSTGRES_DSN": "postgresql://u:pg-secret-3141@db/x", "ALERT_TELEGRAM_BOT_TOKEN": "42:telegram-secret-2718"}
ALLOWED_LABELS = {
    "job",
    "instance",
    "asset",
    "partition",
    "check",
    "step",
    "group",
    "source",
    "table",
    "reason",
    "window",
    "severity",
    "status",
    "dagster_job",
}


@pytest.fixture
def demo_definitions(monkeypatch, tmp_path) -> dg.Definitions:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return load_demo_definitions(monkeypatch, tmp_path, events_per_day=300, also_unset=("ANALYTICS_SOURCES",))


def _run_range(definitions: dg.Definitions, instance, selection: dg.AssetSelection, first: str, last: str):
    """One run over the days first..last, as a backfill or `make backfill` makes it."""
    job = dg.define_asset_job("observed", selection=selection)
    resolved = dg.Definitions.merge(definitions, dg.Definitions(jobs=[job])).resolve_job_def("observed")
    return resolved.execute_in_process(
        instance=instance,
        raise_on_error=False,
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )


def _push(result: dg.ExecuteInProcessResult, instance, gateway_url: str) -> None:
    sensor = prometheus_push_after_success if result.success else prometheus_push_after_failure
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"pushgateway": PushgatewayResource(url=gateway_url)},
    )
    assert sensor(context) is None


def _stored(instance, asset: str, day: str) -> dict:
    (record,) = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[day]), limit=1
    ).records
    return {key: value.value for key, value in record.asset_materialization.metadata.items()}


def _value(samples, name: str, **labels) -> float:
    found = [v for n, of, v in samples if n == name and all(of.get(k) == str(w) for k, w in labels.items())]
    assert len(found) == 1, (name, labels, [(of, v) for n, of, v in samples if n == name][:20])
    return found[0]


def _moscow_midnight(day: str) -> float:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(), tzinfo=MSK).timestamp()


def test_pushed_figures_equal_what_the_runs_stored(demo_definitions, pushgateway):
    # One run over the 15th..18th: the 15th ends final, its late upload days (16th..18th) loaded in the same run.
    selection = dg.AssetSelection.groups("ingest", "dwh") | dg.AssetSelection.assets("metrics_activity")
    with dg.instance_for_test() as instance:
        result = _run_range(demo_definitions, instance, selection, DAYS[0], DAYS[-1])
        assert result.success
        _push(result, instance, pushgateway)

        samples = scrape(pushgateway)
        first = DAYS[0]
        for source in ("amplitude", "appmetrica"):
            raw = _stored(instance, f"{source}_raw_events", first)
            labels = {"asset": f"{source}_raw_events", "partition": first, "source": source}
            assert _value(samples, "analytics_dagster_raw_events", **labels) == raw["dagster/row_count"] > 0
            assert _value(samples, "analytics_dagster_raw_bytes", **labels) == raw["bytes"]
        events = _stored(instance, "events_part", first)
        for source in ("amplitude", "appmetrica"):
            labels = {"asset": "events_part", "partition": first, "source": source}
            assert _value(samples, "analytics_dagster_dwh_events_loaded", **labels) == events[f"{source}_loaded"]
            assert (
                _value(samples, "analytics_dagster_dwh_quarantined_records", **labels)
                == events[f"{source}_quarantined"]
            )
        for table in ("events_part", "technical_data", "user_locations", "permanent_user_properties"):
            for day in DAYS:
                assert (
                    _value(samples, "analytics_dagster_dwh_rows", table=table, partition=day)
                    == _stored(instance, table, day)["dagster/row_count"]
                )
        assert _value(samples, "analytics_dagster_check_passed", asset="events_part", check="unique_key") == 1
        # The runs' days are months old for the freshness checks that ran with them.
        assert (
            _value(
                samples,
                "analytics_dagster_check_passed",
                asset="events_part",
                check="freshness_check",
                severity="ERROR",
            )
            == 0
        )

        final, preliminary = (
            _stored(instance, "metrics_activity", first),
            _stored(instance, "metrics_activity", DAYS[-1]),
        )
        assert (final["day_state"], preliminary["day_state"]) == (DayStatus.FINAL, DayStatus.PRELIMINARY)
        for key, window in (("dau", "day"), ("wau", "week"), ("mau", "month")):
            assert _value(samples, "analytics_dagster_active_users", partition=first, window=window) == final[key]
            assert _value(samples, "analytics_dagster_final_day_active_users", window=window) == final[key]
        assert _value(samples, "analytics_dagster_metric_day_final", partition=first) == 1
        assert _value(samples, "analytics_dagster_metric_day_final", partition=DAYS[-1]) == 0
        assert _value(samples, "analytics_dagster_final_day_timestamp_seconds") == _moscow_midnight(first)
        for group in ("ingest", "dwh"):
            assert _value(
                samples, "analytics_dagster_newest_complete_partition_timestamp_seconds", group=group
            ) == _moscow_midnight(DAYS[-1])
        # The metrics group is not complete: only metrics_activity ran.
        assert not [
            s
            for s in samples
            if s[0].endswith("newest_complete_partition_timestamp_seconds") and s[1].get("group") == "metrics"
        ]

        steps = {
            labels["step"]: value
            for name, labels, value in samples
            if name == "analytics_dagster_step_duration_seconds"
        }
        assert {"amplitude_raw_events", "dwh_tables", "metrics_activity"} <= set(steps)
        assert all(value > 0 for value in steps.values())

        ours = [(n, labels) for n, labels, _ in samples if n.startswith("analytics_dagster_")]
        assert {label for _, labels in ours for label in labels} <= ALLOWED_LABELS
        text = "\n".join(f"{n}{labels}" for n, labels in ours)
        assert not any(secret in text for secret in SECRETS.values())


def test_nothing_is_pushed_without_a_pushgateway_url():
    @dg.asset
    def plain() -> None:
        return None

    with dg.instance_for_test() as instance:
        result = dg.materialize([plain], instance=instance)
        context = dg.build_run_status_sensor_context(
            sensor_name=prometheus_push_after_success.name,
            dagster_event=result.get_run_success_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            resources={"pushgateway": PushgatewayResource(url=None)},
        )
        skipped = prometheus_push_after_success(context)
    assert isinstance(skipped, dg.SkipReason) and "PROMETHEUS_PUSHGATEWAY_URL" in skipped.skip_message


def test_a_failed_run_pushes_its_steps_and_the_days_it_stored(pushgateway):
    """An ingest range that fails on one day still recorded the others: they and the failed step are pushed."""
    partitions = dg.DailyPartitionsDefinition(start_date="2026-03-01", timezone="Europe/Moscow")

    @dg.asset(key="amplitude_raw_events", group_name="ingest", partitions_def=partitions)
    def failing_ingest(context) -> None:
        context.log_event(
            dg.AssetMaterialization(
                "amplitude_raw_events", partition="2026-03-15", metadata={"dagster/row_count": 42, "bytes": 1000}
            )
        )
        raise RuntimeError("2026-03-16 failed")

    with dg.instance_for_test() as instance:
        result = dg.materialize([failing_ingest], partition_key="2026-03-16", instance=instance, raise_on_error=False)
        assert not result.success
        _push(result, instance, pushgateway)
        samples = scrape(pushgateway)

    assert _value(samples, "analytics_dagster_raw_events", source="amplitude", partition="2026-03-15") == 42
    assert not [s for s in samples if s[0] == "analytics_dagster_raw_events" and s[1]["partition"] == "2026-03-16"]
    assert _value(samples, "analytics_dagster_step_duration_seconds", step="amplitude_raw_events", status="failure") > 0
    # appmetrica_raw_events has no day yet, so ingest has no complete day; the platform group is pushed anyway.
    assert not [s for s in samples if s[0].endswith("newest_complete_partition_timestamp_seconds")]
    assert _value(samples, "analytics_dagster_platform_push_timestamp_seconds") > 0
