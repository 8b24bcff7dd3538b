-- Overall DAU / WAU / MAU / stickiness of $first_day..$last_day from the daily rollups already computed.
SELECT metric_date, dau, wau, mau, new_users, stickiness
FROM metrics_activity
WHERE dimension = 'all' AND metric_date BETWEEN $first_day AND $last_day
ORDER BY metric_date
