"""Downstream stages follow their upstream partitions declaratively, each stage in runs of its own.

A DWH partition runs when a raw day of it is updated (the schedule's ingest, the S3 export sensor's re-copy of a
day, a backfill), the metrics and the replays when ``events_part`` of the day is updated. Unlike Dagster's
``eager()``, any partition qualifies, not only the latest: a late re-export of an old day flows through. A metric
run for upload day U recomputes the metric days U-3..U itself (defs/metrics/assets.py), so one run per updated
upload day is enough. Updates made by a run that also materialized the asset (a CLI run of every stage) do not
trigger it again.

One sensor per stage keeps the stages in separate runs: a screenshot failure never fails a metrics run.
"""

import dagster as dg

FOLLOWS_UPSTREAM = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("when an upstream partition of the same day is updated")


def stage_sensor(stage: str, description: str) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        f"{stage}_automation",
        target=dg.AssetSelection.groups(stage),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description=description,
    )


dwh_automation = stage_sensor("dwh", "Loads a day into the warehouse when its raw data is updated.")
metrics_automation = stage_sensor(
    "metrics", "Recomputes the metric days an updated upload day touches, and their reports."
)
replays_automation = stage_sensor("replays", "Builds the day's session-replay digest when its events are updated.")
