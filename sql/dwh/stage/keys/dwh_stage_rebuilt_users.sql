-- Users who had events in this partition that exist nowhere any more (the raw day was replaced): values their
-- events supplied to permanent_user_properties must be taken back, so their rows are rebuilt from all their events.
SELECT DISTINCT user_key
FROM dwh_previous_events
WHERE uuid NOT IN (SELECT uuid FROM dwh_records)
  AND uuid NOT IN (SELECT uuid FROM dwh_conflicts)
