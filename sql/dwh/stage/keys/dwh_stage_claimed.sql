-- Events of this day stored under a LATER partition: this day takes them over (an event belongs to the earliest
-- upload day it appears in), so they are deleted there and that partition's aggregates recomputed.
SELECT uuid, partition_date FROM dwh_conflicts WHERE partition_date > CAST($partition_date AS DATE)
