-- The upload days loaded into the warehouse from $since on, per source (dwh_partition_loads, written with each DWH
-- partition): what a metric day's state is derived from (analytics_dagster/lib/day_state.py).
SELECT source, partition_date
FROM dwh_partition_loads
WHERE partition_date >= $since
