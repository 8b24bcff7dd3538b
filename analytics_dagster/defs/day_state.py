"""The day state (lib/day_state.py) fed from what Dagster and the warehouse know: the upload days loaded into the
warehouse (``dwh_partition_loads``) and the ingest / DWH partitions whose latest run failed."""

from __future__ import annotations

import datetime as dt

import dagster as dg

from analytics_dagster.defs.partitions import daily_partitions
from analytics_dagster.lib.day_state import DayState, day_state, upload_window
from analytics_dagster.lib.metrics import queries
from analytics_dagster.lib.metrics.rules import LATE_DAYS
from analytics_dagster.lib.warehouse import Warehouse
from analytics_dagster.settings import configured_sources

RAW_ASSETS = {"amplitude": dg.AssetKey("amplitude_raw_events"), "appmetrica": dg.AssetKey("appmetrica_raw_events")}
DWH_ASSET = dg.AssetKey("events_part")


def failed_upload_days(
    instance: dg.DagsterInstance, first: dt.date, last: dt.date, sources: tuple[str, ...]
) -> dict[str, set[dt.date]]:
    """Upload days whose latest ingest (per source) or DWH run failed, between ``first`` and ``last``."""
    keys = [key for key in daily_partitions.get_partition_keys() if first.isoformat() <= key <= last.isoformat()]
    failed: dict[str, set[dt.date]] = {source: set() for source in sources}
    if not keys:
        return failed

    def failed_keys(asset_key: dg.AssetKey) -> set[dt.date]:
        statuses = instance.get_status_by_partition(asset_key, keys, daily_partitions) or {}
        return {
            dt.date.fromisoformat(k)
            for k, status in statuses.items()
            if status is not None and status.value == "FAILED"
        }

    dwh_failed = failed_keys(DWH_ASSET)
    for source in sources:
        failed[source] = failed_keys(RAW_ASSETS[source]) | dwh_failed
    return failed


def states_of_days(instance: dg.DagsterInstance, wh: Warehouse, days: list[dt.date]) -> dict[dt.date, DayState]:
    sources = configured_sources()
    first, last = days[0], upload_window(days[-1], LATE_DAYS)[1]
    loaded = queries.loaded_uploads(wh, first, sources)
    failed = failed_upload_days(instance, first, last, sources)
    return {
        day: day_state(day, loaded, queries.day_events(wh, day), late_days=LATE_DAYS, failed=failed) for day in days
    }
