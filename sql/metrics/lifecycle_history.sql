-- Lifecycle counts of $first_day..$last_day from the daily rows already computed (for the dashboard).
SELECT metric_date, active_users, new_users, returning_users, resurrecting_users, dormant_users, quick_ratio
FROM metrics_lifecycle
WHERE metric_date BETWEEN $first_day AND $last_day
ORDER BY metric_date
