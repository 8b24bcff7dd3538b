"""Recomputing metric days when late events land.

An event may be uploaded up to LATE_DAYS days after the Moscow day it happened on and still count for that day,
so metric partition D depends on the upload partitions D..D+LATE_DAYS of ``events_part``. The condition below is
Dagster's ``eager()`` widened from the latest partition to the last LATE_DAYS + 1 days: when ``events_part`` for
day P lands, metric days P-LATE_DAYS..P are requested (P itself only when no run has computed it since), then the
report of those days. Older days are final and never recomputed on their own; a re-run of old DWH partitions is
followed by a backfill of the metric days it touches.

Unlike ``eager()``, an upstream update counts even when the run that made it also computed this asset: the daily
job updates ``events_part`` P together with the metrics of P, and that must still wake the days before P.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from analytics_dagster.lib.metrics.rules import LATE_DAYS

_DEPS_UPDATED = dg.AutomationCondition.any_deps_match(
    dg.AutomationCondition.newly_updated() | dg.AutomationCondition.will_be_requested()
).with_label("any_deps_updated, whichever run updated them")

LATE_EVENTS_CONDITION = (
    dg.AutomationCondition.in_latest_time_window(lookback_delta=dt.timedelta(days=LATE_DAYS + 1))
    & (dg.AutomationCondition.newly_missing() | _DEPS_UPDATED).since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label(f"eager over the last {LATE_DAYS + 1} days (late events)")

metrics_late_events_sensor = dg.AutomationConditionSensorDefinition(
    "metrics_late_events_sensor",
    target=dg.AssetSelection.groups("metrics"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=300,
    description="Recomputes metric days whose late uploads just landed in events_part (see docs/metrics.md).",
)
