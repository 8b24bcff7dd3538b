"""Fixtures of the metric tests: the test dataset in a DuckDB warehouse and every metric asset materialized for a
few days of it (once per session; the tests only read)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from analytics_dagster.defs.metrics import assets as metric_assets
from analytics_dagster.defs.metrics.assets import METRIC_ASSETS as ALL_METRIC_ASSETS
from analytics_dagster.defs.resources import ObjectStoreResource, WarehouseResource
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.warehouse import Warehouse
from analytics_dagster_tests.metrics.dataset import FIRST_DAY, LAST_DAY, Dataset, build_dataset, load_dataset
from analytics_dagster_tests.metrics.reference import Reference

TEST_EXPERIMENTS = Path(__file__).with_name("experiments_test.yaml")
# The last day (full history: Holt-Winters, churn model, complete cohorts), a mid-history Wednesday, and the
# third day (almost no history: naive forecast, no model).
TEST_DAYS = (dt.date(2026, 3, 15), dt.date(2026, 2, 25), dt.date(2026, 2, 4))


def run_config(experiments_file: Path = TEST_EXPERIMENTS) -> dict:
    return {"ops": {"metrics_ab_tests": {"config": {"experiments_file": str(experiments_file)}}}}


def materialize_day(assets, day: dt.date, resources: dict, experiments_file: Path = TEST_EXPERIMENTS):
    result = dg.materialize(
        assets,
        partition_key=day.isoformat(),
        resources=resources,
        run_config=run_config(experiments_file) if metric_assets.metrics_ab_tests in assets else None,
    )
    assert result.success
    return result


@dataclass
class MaterializedMetrics:
    dataset: Dataset
    reference: Reference
    warehouse: WarehouseResource
    object_store: ObjectStoreResource
    results: dict  # day -> ExecuteInProcessResult

    def table(self, name: str, day: dt.date) -> pd.DataFrame:
        return self.warehouse.get().query_df(f"SELECT * FROM {name} WHERE metric_date = $day", {"day": day})

    def metadata(self, asset: str, day: dt.date) -> dict:
        events = self.results[day].asset_materializations_for_node(asset)
        return {key: value.value for key, value in events[-1].metadata.items()}


def fill_daily_rollups(warehouse: Warehouse, first_day: dt.date, last_day: dt.date) -> None:
    """Activity and lifecycle rows of every day (what a backfill leaves), for the dashboard's history charts;
    the same library calls as the assets, without a Dagster run per day."""
    queries.ensure_schema(warehouse)
    day = first_day
    while day <= last_day:
        for table, compute in (("metrics_activity", queries.activity), ("metrics_lifecycle", queries.lifecycle)):
            warehouse.replace_partition(
                table, compute(warehouse, day), partition_column="metric_date", partition_value=day
            )
        day += dt.timedelta(days=1)


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return build_dataset()


@pytest.fixture(scope="session")
def reference(dataset: Dataset) -> Reference:
    return Reference(dataset)


@pytest.fixture(scope="session")
def materialized(tmp_path_factory, dataset: Dataset, reference: Reference) -> MaterializedMetrics:
    root = tmp_path_factory.mktemp("metrics")
    warehouse = WarehouseResource(kind="duckdb", duckdb_path=str(root / "warehouse.duckdb"))
    object_store = ObjectStoreResource(local_dir=str(root / "objects"))
    load_dataset(warehouse.get(), dataset)
    fill_daily_rollups(warehouse.get(), FIRST_DAY, LAST_DAY)
    resources = {"warehouse": warehouse, "object_store": object_store}
    # Oldest first, as days are loaded: a run recomputes the metric days already computed after its own.
    results = {day: materialize_day(ALL_METRIC_ASSETS, day, resources) for day in sorted(TEST_DAYS)}
    return MaterializedMetrics(dataset, reference, warehouse, object_store, results)
