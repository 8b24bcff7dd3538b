"""One metric day stored: its table's rows replaced in the warehouse, and the verdicts of the table's checks,
including the day's state (final / preliminary / incomplete / no data) for the tables that check it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from analytics_dagster.lib.day_state import DayState, DayStatus
from analytics_dagster.lib.metrics.daily import METRIC_DAYS, CheckOutcome, MetricDay
from analytics_dagster.lib.warehouse import Warehouse

DAY_STATE_CHECK = "day_state"


@dataclass(frozen=True)
class StoredMetricDay:
    rows: int  # rows written for the day
    result: MetricDay
    checks: dict[str, CheckOutcome]  # check name -> verdict


def day_state_outcome(state: DayState) -> CheckOutcome:
    """Passes when the day is final; an incomplete day fails as an error, a preliminary or empty one as a warning."""
    return CheckOutcome(state.is_final, state.as_metadata(), warn_only=state.status is not DayStatus.INCOMPLETE)


def warehouse_typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable dtypes: integer columns with NULLs must not reach PostgreSQL's COPY as floats ("4.0")."""
    return frame.convert_dtypes()


def store_metric_day(
    wh: Warehouse, table: str, day: dt.date, state: DayState, *, checks_day_state: bool, **options
) -> StoredMetricDay:
    """Computes ``table`` for ``day`` (``options``: what its compute function takes besides the warehouse and the
    day) and replaces the day's rows."""
    result = METRIC_DAYS[table](wh, day, **options)
    rows = wh.replace_partition(
        table, warehouse_typed(result.frame), partition_column="metric_date", partition_value=day
    )
    checks = dict(result.checks)
    if checks_day_state:
        checks[DAY_STATE_CHECK] = day_state_outcome(state)
    return StoredMetricDay(rows, result, checks)
