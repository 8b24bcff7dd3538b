-- The origins (demo, export_api, logs_api, s3_export) of the upload days $first_day..$last_day in the warehouse.
SELECT DISTINCT origin
FROM dwh_partition_loads
WHERE partition_date BETWEEN $first_day AND $last_day
