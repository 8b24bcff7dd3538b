-- Per-event tables: this partition's rows, and the rows of later partitions whose events this day takes over.
DELETE FROM {{ table }} WHERE partition_date = CAST($partition_date AS DATE);
DELETE FROM {{ table }}
WHERE partition_date > CAST($partition_date AS DATE)
  AND uuid IN (SELECT uuid FROM dwh_stage_claimed);
