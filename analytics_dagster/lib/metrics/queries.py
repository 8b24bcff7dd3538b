"""The warehouse side of every metric: creates the metric views and tables, and runs the ``sql/metrics`` queries
for one Moscow day with their date parameters worked out here (the SQL stays free of date arithmetic on
parameters, so one file serves DuckDB, PostgreSQL and BigQuery)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import pandas as pd

from analytics_dagster.lib.dwh.etl import ensure_load_log
from analytics_dagster.lib.metrics.experiments import Experiment, ExperimentMetric
from analytics_dagster.lib.metrics.rules import (
    FORECAST_HISTORY_DAYS,
    FORECAST_TOP_EVENTS,
    MONTH_DAYS,
    RETENTION_COHORT_WEEKS,
    RETENTION_DAYS,
    TOP_EVENTS,
    WEEK_DAYS,
)
from analytics_dagster.lib.sql import SQL_DIR
from analytics_dagster.lib.warehouse import Warehouse

METRIC_TABLES = (
    "metrics_activity",
    "metrics_top_events",
    "metrics_lifecycle",
    "metrics_retention_daily",
    "metrics_retention_weekly",
    "metrics_user_engagement",
    "metrics_ab_tests",
    "metrics_forecasts",
)
SOURCE_TABLES = ("events_part", "tmp_event_properties", "tmp_user_properties")


class WarehouseNotReady(RuntimeError):
    pass


def ensure_schema(warehouse: Warehouse) -> None:
    """Creates the metric views over the DWH tables and the metric tables (idempotent)."""
    missing = [table for table in SOURCE_TABLES if not warehouse.table_exists(table)]
    if missing:
        raise WarehouseNotReady(
            f"the warehouse has no {', '.join(missing)} yet: materialize the DWH assets (group dwh) first"
        )
    ensure_load_log(warehouse)
    for path in sorted((SQL_DIR / "metrics" / "ddl").glob("*.sql")):
        warehouse.execute_file(f"metrics/ddl/{path.name}")


def as_date(value: Any) -> dt.date | None:
    """A DATE from any warehouse driver (date, datetime, pandas Timestamp) or None for NULL."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def days_before(day: dt.date, days: int) -> dt.date:
    return day - dt.timedelta(days=days)


def activity(warehouse: Warehouse, day: dt.date) -> pd.DataFrame:
    return warehouse.query_file(
        "metrics/activity.sql",
        {
            "day": day,
            "week_start": days_before(day, WEEK_DAYS - 1),
            "month_start": days_before(day, MONTH_DAYS - 1),
        },
    )


def top_events(warehouse: Warehouse, day: dt.date, top_n: int = TOP_EVENTS) -> pd.DataFrame:
    return warehouse.query_file("metrics/top_events.sql", {"day": day, "top_n": top_n})


def lifecycle(warehouse: Warehouse, day: dt.date) -> pd.DataFrame:
    return warehouse.query_file("metrics/lifecycle.sql", {"day": day, "previous_day": days_before(day, 1)})


def retention_daily(warehouse: Warehouse, day: dt.date) -> pd.DataFrame:
    return warehouse.query_file(
        "metrics/retention_daily.sql",
        {
            "day": day,
            "first_cohort_date": days_before(day, RETENTION_DAYS),
        },
    )


def week_start(day: dt.date) -> dt.date:
    """Monday of the ISO week of ``day``."""
    return days_before(day, day.weekday())


def retention_weekly(warehouse: Warehouse, day: dt.date) -> pd.DataFrame:
    first_cohort_start = days_before(week_start(day), WEEK_DAYS * (RETENTION_COHORT_WEEKS - 1))
    return warehouse.query_file("metrics/retention_weekly.sql", {"day": day, "first_cohort_start": first_cohort_start})


def user_engagement(warehouse: Warehouse, day: dt.date) -> pd.DataFrame:
    """Per-user activity of the 30 days up to ``day``: the table's rows and the churn model's features."""
    return warehouse.query_file(
        "metrics/user_engagement.sql",
        {
            "day": day,
            "window_days": MONTH_DAYS,
            "window_start": days_before(day, MONTH_DAYS - 1),
            "week_start": days_before(day, WEEK_DAYS - 1),
        },
    )


def active_users(warehouse: Warehouse, first_day: dt.date, last_day: dt.date) -> set[str]:
    found = warehouse.query_file("metrics/active_users.sql", {"first_day": first_day, "last_day": last_day})
    return set(found["user_key"])


def history_start(warehouse: Warehouse, day: dt.date) -> dt.date | None:
    return as_date(warehouse.query_file("metrics/history_start.sql", {"day": day})["first_day"].iloc[0])


def loaded_uploads(warehouse: Warehouse, since: dt.date, sources: Iterable[str]) -> dict[str, set[dt.date]]:
    """Upload days loaded from ``since`` on, for each of ``sources`` (an empty set for a source with none)."""
    loaded: dict[str, set[dt.date]] = {source: set() for source in sources}
    for row in warehouse.query_file("metrics/loaded_uploads.sql", {"since": since}).itertuples():
        if row.source in loaded:
            loaded[row.source].add(as_date(row.partition_date))
    return loaded


def first_loaded_day(warehouse: Warehouse) -> dt.date | None:
    """The first upload day in the warehouse (dwh_partition_loads), None before any load: where the data starts.
    Events of earlier days exist only through late uploads, so windows and cohorts before it are not covered."""
    return as_date(warehouse.query_file("metrics/first_loaded_day.sql", {})["first_day"].iloc[0])


def upload_origins(warehouse: Warehouse, first: dt.date, last: dt.date) -> set[str]:
    """Where the upload days ``first..last`` came from ('demo', 'export_api', ...): a metric day is demo data when
    any upload day of its window is."""
    found = warehouse.query_file("metrics/upload_origins.sql", {"first_day": first, "last_day": last})
    return set(found["origin"])


def day_events(warehouse: Warehouse, day: dt.date) -> int:
    return int(warehouse.query_file("metrics/day_events.sql", {"day": day})["events"].iloc[0])


def daily_series(
    warehouse: Warehouse, day: dt.date, history_days: int = FORECAST_HISTORY_DAYS, top_n: int = FORECAST_TOP_EVENTS
) -> pd.DataFrame:
    """Long form (series, event_date, value) of DAU and the top event types' daily counts."""
    series = warehouse.query_file(
        "metrics/daily_series.sql",
        {
            "day": day,
            "first_day": days_before(day, history_days - 1),
            "month_start": days_before(day, MONTH_DAYS - 1),
            "top_n": top_n,
        },
    )
    series["event_date"] = series["event_date"].map(as_date)
    series["value"] = series["value"].astype(float)
    return series


def dau(warehouse: Warehouse, day: dt.date) -> int | None:
    found = warehouse.query_file("metrics/dau_rollup.sql", {"day": day})
    return int(found["dau"].iloc[0]) if len(found) else None


def ab_variant_stats(
    warehouse: Warehouse, day: dt.date, experiment: Experiment, metric: ExperimentMetric
) -> pd.DataFrame:
    return warehouse.query_file(
        "metrics/ab_variant_stats.sql",
        {
            "day": day,
            "flag": experiment.flag_key,
            "start_date": experiment.start_date,
            "exposure_event_types": list(experiment.exposure_event_types),
            "user_property": experiment.user_property,
            "metric_event_types": list(metric.event_types),
            "metric_kind": metric.kind,
            "value": metric.value,
            "window_days": metric.window_days,
        },
    )


def metric_rows(warehouse: Warehouse, table: str, day: dt.date) -> pd.DataFrame:
    """The rows of one metric table for one day (what the exports and the dashboard show)."""
    # The table name cannot be a bound parameter; it is checked against the known tables instead.
    if table not in METRIC_TABLES:
        raise ValueError(f"{table!r} is not a metric table")
    return warehouse.query_df(f"SELECT * FROM {table} WHERE metric_date = $day", {"day": day})


def activity_history(warehouse: Warehouse, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    """Overall DAU / WAU / MAU / stickiness from the daily rollups already computed."""
    return warehouse.query_file("metrics/activity_history.sql", {"first_day": first_day, "last_day": last_day})


def lifecycle_history(warehouse: Warehouse, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    return warehouse.query_file("metrics/lifecycle_history.sql", {"first_day": first_day, "last_day": last_day})
