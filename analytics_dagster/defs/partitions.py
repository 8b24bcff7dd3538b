import dagster as dg

from analytics_dagster.lib.settings import MOSCOW_TZ, start_date

# One partition = one Moscow calendar day; every stage's assets share it so a run or backfill spans all stages.
daily_partitions = dg.DailyPartitionsDefinition(start_date=start_date(), timezone=MOSCOW_TZ)
