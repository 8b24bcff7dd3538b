"""What the two object sensors (Amplitude's S3 export, the landing zone) share: the partitions a tick may request
and the log lines about the objects it passes over. The planning itself is in :mod:`analytics_dagster.lib.s3_export`.
"""

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import dagster as dg

from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.lib.moscow_time import parse_day
from analytics_dagster.lib.s3_export import ExportCursor, ListedObject, TickPlan
from analytics_dagster.settings import start_date

# How far behind the newest modification time an object may still show up (S3 stamps the start of an upload, and a
# large hourly file can take a while). The cursor remembers the keys of this window, so it bounds its size.
LATE_VISIBILITY_MARGIN = dt.timedelta(hours=3)

Request = TypeVar("Request")
Planner = Callable[..., TickPlan[Request]]


def plan_for_partitions(
    planner: Planner,
    listing: Iterable[ListedObject],
    context: dg.SensorEvaluationContext,
    *,
    files: str,
    not_files: str,
) -> TickPlan[Request]:
    """One tick of ``planner`` over the daily partitions that exist now, logging what it passes over: objects that
    are not ``files``, files of days before the first partition, files of a day that has no partition yet."""
    first_day = parse_day(daily_partitions.get_first_partition_key() or start_date())
    last_key = daily_partitions.get_last_partition_key()  # None until the first day (ANALYTICS_START_DATE) is over
    plan = planner(
        listing,
        ExportCursor.decode(context.cursor),
        margin=LATE_VISIBILITY_MARGIN,
        first_day=first_day,
        last_day=parse_day(last_key) if last_key else first_day - dt.timedelta(days=1),
    )
    _log_passed_over(context.log, plan, first_day, files=files, not_files=not_files)
    return plan


def _log_passed_over(log: Any, plan: TickPlan, first_day: dt.date, *, files: str, not_files: str) -> None:
    if plan.ignored:
        log.warning(f"{len(plan.ignored)} new objects are not {not_files}, e.g. {plan.ignored[0]}")
    if plan.before_start:
        log.warning(
            f"{len(plan.before_start)} new {files} belong to days before the first partition "
            f"({first_day}, ANALYTICS_START_DATE), e.g. {plan.before_start[0]}"
        )
    if plan.cursor.pending:
        log.info(f"{len(plan.cursor.pending)} {files} wait for their day's partition (the day still runs)")
