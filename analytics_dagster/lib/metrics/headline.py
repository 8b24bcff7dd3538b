"""The day's headline figures as Markdown tables, shown on the metrics_report asset page so the Dagster UI alone
answers "how did yesterday go" without opening the dashboard."""

from __future__ import annotations

import datetime as dt

from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.preview import markdown_table
from analytics_dagster.lib.warehouse import Warehouse

ACTIVITY_COLUMNS = ["dimension", "segment", "dau", "wau", "mau", "new_users", "events", "stickiness"]
TOP_EVENT_COLUMNS = ["event_rank", "event_type", "event_count", "unique_users"]


def headline_tables(warehouse: Warehouse, day: dt.date) -> dict[str, str]:
    """``headline``: DAU / WAU / MAU, new users, events and stickiness, overall and per segment; ``top_events``: the
    day's most frequent events overall. Both read the stored metric rows, the figures the dashboard shows."""
    activity = queries.metric_rows(warehouse, "metrics_activity", day)
    top_events = queries.metric_rows(warehouse, "metrics_top_events", day)
    overall_events = top_events[top_events["dimension"] == "all"].sort_values("event_rank")
    return {
        "headline": markdown_table(activity, max_rows=len(activity) or 1, columns=ACTIVITY_COLUMNS)
        if len(activity)
        else "No activity on this day.",
        "top_events": markdown_table(overall_events, columns=TOP_EVENT_COLUMNS)
        if len(overall_events)
        else "No events on this day.",
    }
