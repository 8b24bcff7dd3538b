"""Prints where a day's results are after `make run`: warehouse tables with row counts, and report files."""

from __future__ import annotations

import argparse

from analytics_dagster.lib.object_store import LocalObjectStore
from analytics_dagster.lib.warehouse import DuckDBWarehouse
from analytics_dagster.settings import CoreSettings, ObjectStoreSettings, WarehouseSettings

REPORT_PREFIXES = ("raw/amplitude", "raw/appmetrica", "reports/metrics", "reports/replays")


def summarize(partition: str) -> str:
    data_dir = CoreSettings.read().data_dir
    warehouse_settings = WarehouseSettings.read()
    lines = [f"Results for partition {partition} (data folder {data_dir}):"]
    if warehouse_settings.warehouse == "duckdb":
        warehouse = DuckDBWarehouse(warehouse_settings.duckdb_path or data_dir / "warehouse.duckdb")
        lines.append(f"  warehouse: {warehouse.path}")
        tables = warehouse.query_df(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        )["table_name"]
        for table in tables:
            lines.append(f"    {table:<32} {warehouse.row_count(table):>12,} rows")
    if not ObjectStoreSettings.read().s3_bucket:
        store = LocalObjectStore(data_dir / "objects")
        for prefix in REPORT_PREFIXES:
            keys = store.list_keys(f"{prefix}/{partition}")
            if keys:
                lines.append(
                    f"  {prefix}/{partition}: {len(keys)} files in {store.local_path(f'{prefix}/{partition}')}"
                )
                lines.extend(f"    {store.uri(key)}" for key in keys if key.endswith((".html", ".md")))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("partition", help="the Moscow day, YYYY-MM-DD")
    print(summarize(parser.parse_args().partition))


if __name__ == "__main__":
    main()
