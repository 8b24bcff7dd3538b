-- Events already stored under an EARLIER partition belong there: this day's copies are dropped.
DELETE FROM dwh_records
WHERE uuid IN (SELECT uuid FROM dwh_conflicts WHERE partition_date < CAST($partition_date AS DATE))
