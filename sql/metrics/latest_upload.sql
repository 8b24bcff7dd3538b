-- The latest upload partition in the warehouse: day D's figures are final once it reaches D + LATE_DAYS.
SELECT max(partition_date) AS latest_partition
FROM events_part
