-- Events counted for the Moscow day $day (late rule applied): zero means the day has no data.
SELECT count(*) AS events
FROM metrics_counted_events
WHERE event_date = $day
