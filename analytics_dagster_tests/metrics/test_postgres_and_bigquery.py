"""The same SQL on PostgreSQL (translated by sqlglot) gives the same tables as on DuckDB; every metric SQL file
translates to BigQuery."""

from __future__ import annotations

import re

import pytest
import sqlglot

from analytics_dagster.lib.sql import SQL_DIR, translate
from analytics_dagster_tests.metrics.compare import assert_same_rows
from analytics_dagster_tests.metrics.conftest import ALL_METRIC_ASSETS, TEST_DAYS, materialize_day
from analytics_dagster_tests.metrics.dataset import load_dataset

TABLE_KEYS = {
    "metrics_activity": ["dimension", "segment"],
    "metrics_top_events": ["dimension", "segment", "event_rank"],
    "metrics_lifecycle": ["metric_date"],
    "metrics_retention_daily": ["cohort_type", "cohort_date", "day_number"],
    "metrics_retention_weekly": ["cohort_type", "cohort_start", "week_number"],
    "metrics_user_engagement": ["user_key"],
    "metrics_ab_tests": ["metric", "variant"],
    "metrics_forecasts": ["series", "horizon_days"],
}
METRIC_SQL_FILES = sorted(p.relative_to(SQL_DIR).as_posix() for p in (SQL_DIR / "metrics").rglob("*.sql"))


def test_postgres_tables_equal_duckdb_tables(materialized, postgres_resource, object_store_resource):
    day = TEST_DAYS[0]
    load_dataset(postgres_resource.get(), materialized.dataset)
    materialize_day(ALL_METRIC_ASSETS, day, {"warehouse": postgres_resource, "object_store": object_store_resource})
    postgres = postgres_resource.get()
    for table, keys in TABLE_KEYS.items():
        expected = materialized.table(table, day)
        actual = postgres.query_df(f"SELECT * FROM {table} WHERE metric_date = $day", {"day": day})
        # Float sums may add up in another order; the churn model refits on the same rows.
        assert_same_rows(actual, expected, keys=keys, rtol=1e-9)
    assert object_store_resource.store().exists(f"reports/metrics/{day}/dashboard.html")


@pytest.mark.parametrize("path", METRIC_SQL_FILES)
def test_sql_translates_to_bigquery(path):
    source = (SQL_DIR / path).read_text()
    statements = translate(source, "bigquery")
    assert len(statements) == 1
    # Re-parsed as BigQuery and printed without comments: the code itself, which must use BigQuery parameters.
    code = sqlglot.parse_one(statements[0], read="bigquery").sql(dialect="bigquery", comments=False)
    source_code = sqlglot.parse_one(source, read="duckdb").sql(dialect="duckdb", comments=False)
    parameters = set(re.findall(r"\$([a-z_]+)", re.sub(r"'[^']*'", "''", source_code)))
    assert not re.search(r"\$[a-z_]+", re.sub(r"'[^']*'", "''", code))
    assert {name for name in parameters if f"@{name}" in code} == parameters
    assert "GROUP BY ALL" not in code.upper()
