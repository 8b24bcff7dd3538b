-- Per-partition aggregates: this partition's rows, and those of the partitions that lost events to it.
DELETE FROM {{ table }} WHERE partition_date = CAST($partition_date AS DATE);
DELETE FROM {{ table }} WHERE partition_date IN (SELECT partition_date FROM dwh_stage_claimed);
