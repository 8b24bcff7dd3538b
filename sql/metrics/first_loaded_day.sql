-- The first upload day loaded into the warehouse (NULL before any load): where the data starts. Windows reaching
-- back before it, and cohorts that began before it, are not covered by data (the dashboard says so).
SELECT min(partition_date) AS first_day
FROM dwh_partition_loads
