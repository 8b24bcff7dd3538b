-- This partition's history rows, and the touched users' rows of the later partitions that were recomputed.
DELETE FROM changeable_user_properties WHERE partition_date = CAST($partition_date AS DATE);
DELETE FROM changeable_user_properties
WHERE partition_date IN (SELECT partition_date FROM dwh_stage_recomputed)
  AND user_key IN (SELECT user_key FROM dwh_stage_users);
