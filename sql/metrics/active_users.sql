-- Users active on any Moscow day $first_day..$last_day (the churn model's label: active in the next 7 days).
SELECT DISTINCT user_key
FROM metrics_events
WHERE event_date BETWEEN $first_day AND $last_day
