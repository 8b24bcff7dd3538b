-- The first Moscow day with counted activity up to $day (NULL when there is none): how much history a model has.
SELECT min(event_date) AS first_day
FROM metrics_events
WHERE event_date <= $day
