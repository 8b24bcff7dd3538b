"""The 09:00 Moscow schedule starts the previous day's ingest; the DWH, metrics and replays follow declaratively
(``automation.py``), each in runs of its own, so a browser or LLM failure never fails the warehouse or the
metrics."""

import dagster as dg

from analytics_dagster.defs.partitions import daily_partitions

daily_ingest_job = dg.define_asset_job(
    name="daily_ingest",
    selection=dg.AssetSelection.groups("ingest"),
    partitions_def=daily_partitions,
    description="The raw day of every source; the DWH, metrics and replay stages follow it automatically.",
)

# 09:00 Moscow, when the previous day's exports are complete; the schedule requests that previous day's partition.
# It does not catch up on missed ticks: a new install backfills up to yesterday (README, operations).
daily_pipeline_schedule = dg.build_schedule_from_partitioned_job(
    daily_ingest_job,
    name="daily_pipeline_at_0900_msk",
    hour_of_day=9,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
