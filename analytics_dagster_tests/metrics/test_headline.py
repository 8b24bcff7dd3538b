"""The headline tables on the metrics_report asset page (their figures are checked against the warehouse in
test_report.py); a day without data says so instead of showing an empty table."""

import datetime as dt

from analytics_dagster.lib.dwh.etl import ensure_tables
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.headline import headline_tables


def test_a_day_without_data_says_so(duckdb_resource):
    warehouse = duckdb_resource.get()
    ensure_tables(warehouse)  # an empty warehouse
    queries.ensure_schema(warehouse)
    assert headline_tables(warehouse, dt.date(2026, 3, 15)) == {
        "headline": "No activity on this day.",
        "top_events": "No events on this day.",
    }
