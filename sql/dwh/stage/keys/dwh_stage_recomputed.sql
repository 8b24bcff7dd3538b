-- The later partitions whose history rows of this run's users were recomputed.
SELECT partition_date FROM dwh_later_partitions
