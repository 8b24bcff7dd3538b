"""The DWH tests' demo raw days, shared with the operations tests that load them."""

from analytics_dagster_tests.dwh.conftest import demo_raw_files  # noqa: F401 (a fixture, found by pytest by name)
