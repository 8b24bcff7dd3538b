-- Upload days from $first_day to $last_day (both included) whose raw day came from the built-in demo source: a metric
-- or a report built on them shows demo data and says so.
SELECT count(*) AS demo_uploads
FROM dwh_partition_loads
WHERE origin = 'demo'
  AND partition_date BETWEEN $first_day AND $last_day
