-- The users this run can change: those of the day's events, now and as stored before the run.
SELECT user_key FROM dwh_records
UNION
SELECT user_key FROM dwh_previous_events
