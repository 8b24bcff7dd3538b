"""Counting rules shared by every metric (explained in docs/metrics.md)."""

from __future__ import annotations

# An event counts for the Moscow day it happened on when it was uploaded at most this many days later. Metric
# partition D therefore reads upload partitions D..D+LATE_DAYS and is recomputed as each of them lands. The rule
# itself is applied in sql/metrics/ddl/01_metrics_counted_events.sql (a test keeps the two equal).
LATE_DAYS = 3

WEEK_DAYS = 7  # WAU window and "active days in the last 7"
MONTH_DAYS = 30  # MAU window and the per-user analytics window
TOP_EVENTS = 20  # event types kept per segment in metrics_top_events
RETENTION_DAYS = 30  # N-day retention D0..D30 (the SQL lists the day numbers)
RETENTION_COHORT_WEEKS = 8  # weekly cohorts shown: the metric day's week and the 7 before it

CHURN_HORIZON_DAYS = 7  # the churn model predicts "inactive in the next 7 days"
FORECAST_HORIZON_DAYS = 30
FORECAST_HISTORY_DAYS = 120
FORECAST_TOP_EVENTS = 5  # event types forecast besides DAU
