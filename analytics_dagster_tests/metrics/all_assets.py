"""Every metric asset, in the order of the pipeline: what the metric tests and benchmarks/metrics_backfill.py
materialize for a day."""

from __future__ import annotations

from analytics_dagster.defs.metrics import assets as metric_assets

ALL_METRIC_ASSETS = [
    metric_assets.metrics_activity,
    metric_assets.metrics_top_events,
    metric_assets.metrics_lifecycle,
    metric_assets.metrics_retention_daily,
    metric_assets.metrics_retention_weekly,
    metric_assets.metrics_user_engagement,
    metric_assets.metrics_ab_tests,
    metric_assets.metrics_forecasts,
    metric_assets.metrics_report,
]
