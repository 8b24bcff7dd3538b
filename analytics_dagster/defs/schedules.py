import dagster as dg

from analytics_dagster.defs.partitions import daily_partitions

daily_pipeline_job = dg.define_asset_job(
    name="daily_pipeline",
    selection=dg.AssetSelection.all(),
    partitions_def=daily_partitions,
    description="Every stage for one Moscow day: ingest, DWH, session replays, metrics.",
)

# 09:00 Moscow, when the previous day's exports are complete; the schedule requests that previous day's partition.
daily_pipeline_schedule = dg.build_schedule_from_partitioned_job(
    daily_pipeline_job,
    name="daily_pipeline_at_0900_msk",
    hour_of_day=9,
    minute_of_hour=0,
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
