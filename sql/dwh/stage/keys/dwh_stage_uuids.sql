-- The day's events, to look up copies stored under other partitions.
SELECT uuid FROM dwh_records
