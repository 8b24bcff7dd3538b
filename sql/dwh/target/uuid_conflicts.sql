-- Events of this day (dwh_stage_uuids) already stored under another partition: an event belongs to the EARLIEST
-- upload day it appears in, so copies in earlier partitions make this day's copy a duplicate, and copies in later
-- partitions are taken over by this day.
SELECT e.uuid, e.partition_date
FROM events_part AS e
JOIN dwh_stage_uuids AS s ON s.uuid = e.uuid
WHERE e.partition_date <> CAST($partition_date AS DATE)
