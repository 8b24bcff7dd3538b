-- The events stored for this partition before the run: their users are the users a rerun can change.
SELECT uuid, user_key
FROM events_part
WHERE partition_date = CAST($partition_date AS DATE)
