import dagster as dg

from analytics_dagster.lib.settings import MOSCOW_TZ
from analytics_dagster.settings import start_date

# One partition = one Moscow calendar day; every stage's assets share it so a run or backfill spans all stages.
daily_partitions = dg.DailyPartitionsDefinition(start_date=start_date(), timezone=MOSCOW_TZ)

# Every partitioned asset takes one run for a whole range of days (a UI backfill, `dagster asset materialize
# --partition-range A...B`): one process start instead of one per day and stage, and one policy for every job.
# Asset bodies therefore loop over `context.partition_keys`.
RANGE_BACKFILL_POLICY = dg.BackfillPolicy.single_run()
