"""``make status``: per asset group, the newest partition, its state (final / preliminary / incomplete / failed /
no data), failing checks and freshness, read from the Dagster instance (DAGSTER_HOME).

Exits 1 when a group is late or failed (a failed latest attempt, a failing ERROR check), so cron, a load balancer
check or an alerting probe can use it; ``--json`` prints the same as JSON.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Sequence

import dagster as dg
from dagster._core.storage.partition_status_cache import AssetPartitionStatus

from analytics_dagster.defs.ops.freshness import freshness_checks
from analytics_dagster.defs.ops.groups import GROUP_ASSETS, GROUP_CHECKS
from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.lib.day_state import DayStatus
from analytics_dagster.lib.ops.status import FailingCheck, GroupFacts, GroupStatus, evaluate, render, render_json
from analytics_dagster.settings import OpsSettings

# When the assets of a group report different day states for the same day, the least trustworthy one is shown.
_DAY_STATE_ORDER = [DayStatus.INCOMPLETE, DayStatus.NO_DATA, DayStatus.PRELIMINARY, DayStatus.FINAL]


def _failed_partitions(instance: dg.DagsterInstance, key: dg.AssetKey, partition_keys: Sequence[str]) -> set[str]:
    """Partitions whose latest attempt failed (an older materialization may still exist)."""
    statuses = instance.get_status_by_partition(key, partition_keys, daily_partitions) or {}
    return {partition for partition, status in statuses.items() if status == AssetPartitionStatus.FAILED}


def _failing_checks(instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey]) -> list[FailingCheck]:
    failing = []
    for key, summary in instance.event_log_storage.get_asset_check_summary_records(check_keys).items():
        record = summary.last_completed_check_execution_record
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is not None and not evaluation.passed:
            failing.append(
                FailingCheck(
                    key.asset_key.to_user_string(), key.name, evaluation.severity.value, evaluation.description
                )
            )
    return sorted(failing, key=str)


def _day_state(instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey], partition: str) -> str | None:
    states = set()
    for key in keys:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1
        ).records
        if records and "day_state" in records[0].asset_materialization.metadata:
            states.add(records[0].asset_materialization.metadata["day_state"].value)
    known = [s for s in _DAY_STATE_ORDER if s.value in states]
    return known[0].value if known else None


def collect(
    instance: dg.DagsterInstance, check_keys: Sequence[dg.AssetCheckKey], now: dt.datetime
) -> list[GroupStatus]:
    group_deadlines = OpsSettings.read().deadlines()
    partition_keys = daily_partitions.get_partition_keys()
    statuses = []
    for group, keys in GROUP_ASSETS.items():
        if not keys:
            continue
        materialized = {key.to_user_string(): instance.get_materialized_partitions(key) for key in keys}
        failed = {key.to_user_string(): _failed_partitions(instance, key, partition_keys) for key in keys}
        newest = max((p for parts in materialized.values() for p in parts), default=None)
        facts = GroupFacts(
            group,
            materialized,
            failed,
            _failing_checks(instance, [c for c in check_keys if c.asset_key in keys]),
            _day_state(instance, keys, newest) if newest else None,
        )
        statuses.append(evaluate(facts, group_deadlines[group], now))
    return statuses


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    check_keys = [key for keys in GROUP_CHECKS.values() for key in keys]
    check_keys += [key for checks_def in freshness_checks for key in checks_def.check_keys]
    with dg.DagsterInstance.get() as instance:
        statuses = collect(instance, check_keys, dt.datetime.now(dt.UTC))
    print(render_json(statuses) if args.json else render(statuses))
    return 0 if all(s.healthy for s in statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
