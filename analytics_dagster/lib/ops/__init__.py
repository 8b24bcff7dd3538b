"""Observability logic with no Dagster: freshness deadlines, alert messages and channels, Prometheus figures, status."""
