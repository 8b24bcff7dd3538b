"""Pushes the platform's figures to a Prometheus Pushgateway after every run that ends (PROMETHEUS_PUSHGATEWAY_URL).

Run-status sensors rather than hooks: a sensor reads the run's materializations, check results and step timings
from the instance, so it covers every stage and every job (schedules, automation, UI backfills, freshness runs)
without touching an asset body, and a push that fails never fails the data run. A failed run is pushed too: the
days it did store (an ingest backfill records each day) and its steps' durations count.
"""

from __future__ import annotations

import datetime as dt
import time

import dagster as dg
from dagster._core.events import DagsterEventType

from analytics_dagster.defs.ops.groups import GROUP_ASSETS, GROUP_OF_ASSET
from analytics_dagster.defs.ops.resources import PushgatewayResource
from analytics_dagster.defs.ops.runs import check_outcomes
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.ops import prometheus as figures
from analytics_dagster.lib.ops.freshness import MOSCOW

ACTIVITY_KEY = dg.AssetKey(figures.ACTIVITY_ASSET)
# How many of the newest metric days to look through for the newest final one.
FINAL_DAY_LOOKBACK = 40


def _plain(metadata: dict) -> dict:
    return {key: value.value for key, value in metadata.items()}


def newest_complete_partitions(instance: dg.DagsterInstance) -> dict[str, dt.date | None]:
    """Per group, the newest day that every asset of the group has materialized."""
    newest: dict[str, dt.date | None] = {}
    for group, keys in GROUP_ASSETS.items():
        if keys:
            common = set.intersection(*(instance.get_materialized_partitions(key) for key in keys))
            newest[group] = parse_day(max(common)) if common else None
    return newest


def newest_final_day(instance: dg.DagsterInstance) -> figures.FinalDay | None:
    """The newest metric day whose latest materialization says ``day_state: final`` (lib/day_state)."""
    days = sorted(instance.get_materialized_partitions(ACTIVITY_KEY), reverse=True)[:FINAL_DAY_LOOKBACK]
    for day in days:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ACTIVITY_KEY, asset_partitions=[day]), limit=1
        ).records
        metadata = _plain(records[0].asset_materialization.metadata) if records else {}
        if metadata.get("day_state") == "final":
            users = {k: metadata[k] for k in figures.ACTIVE_USER_WINDOWS if isinstance(metadata.get(k), int | float)}
            return figures.FinalDay(parse_day(day), users)
    return None


def push_run_figures(instance: dg.DagsterInstance, run: dg.DagsterRun, gateway: figures.Pushgateway) -> int:
    """Pushes what the run stored, checked and spent, then the platform figures; returns the groups pushed."""
    pushed = 0
    for record in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        materialization = record.dagster_event.step_materialization_data.materialization
        asset = materialization.asset_key
        group = GROUP_OF_ASSET.get(asset)
        if group is None or materialization.partition is None:
            continue
        families = figures.materialization_families(
            asset.to_user_string(), group, _plain(materialization.metadata), record.timestamp
        )
        gateway.replace_group({"asset": asset.to_user_string(), "partition": materialization.partition}, families)
        pushed += 1
    for outcome in check_outcomes(instance, run.run_id):
        group = GROUP_OF_ASSET.get(outcome.asset, "other")
        families = figures.check_families(group, outcome.passed, outcome.severity, outcome.timestamp)
        gateway.replace_group({"asset": outcome.asset.to_user_string(), "check": outcome.check}, families)
        pushed += 1
    for step in instance.get_run_step_stats(run.run_id):
        if step.start_time is not None and step.end_time is not None and step.status is not None:
            families = figures.step_families(
                run.job_name, step.status.value.lower(), step.end_time - step.start_time, step.end_time
            )
            gateway.replace_group({"step": step.step_key}, families)
            pushed += 1
    platform = figures.platform_families(
        newest_complete_partitions(instance), newest_final_day(instance), MOSCOW, time.time()
    )
    gateway.replace_group({}, platform)
    return pushed + 1


def _push_sensor(status: dg.DagsterRunStatus) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        run_status=status,
        name=f"prometheus_push_after_run_{status.value.lower()}",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"After each run that ends in {status.value}: pushes its figures to PROMETHEUS_PUSHGATEWAY_URL.",
    )
    def push_after_run(context: dg.RunStatusSensorContext, pushgateway: PushgatewayResource):
        gateway = pushgateway.gateway()
        if gateway is None:
            return dg.SkipReason("PROMETHEUS_PUSHGATEWAY_URL is not set")
        groups = push_run_figures(context.instance, context.dagster_run, gateway)
        context.log.info(f"Pushed {groups} metric groups of run {context.dagster_run.run_id} to the Pushgateway")
        return None

    return push_after_run


prometheus_push_after_success = _push_sensor(dg.DagsterRunStatus.SUCCESS)
prometheus_push_after_failure = _push_sensor(dg.DagsterRunStatus.FAILURE)
