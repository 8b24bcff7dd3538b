-- The load log of this partition is replaced with the partition.
DELETE FROM dwh_partition_loads WHERE partition_date = CAST($partition_date AS DATE);
