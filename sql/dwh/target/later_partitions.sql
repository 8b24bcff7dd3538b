-- Later partitions holding events or history rows of the touched users: their history rows build on this
-- partition's, so they are recomputed for those users (none in daily operation, where this is the newest day).
SELECT partition_date
FROM events_part
WHERE partition_date > CAST($partition_date AS DATE)
  AND user_key IN (SELECT user_key FROM dwh_stage_users)
UNION
SELECT partition_date
FROM changeable_user_properties
WHERE partition_date > CAST($partition_date AS DATE)
  AND user_key IN (SELECT user_key FROM dwh_stage_users)
ORDER BY partition_date
