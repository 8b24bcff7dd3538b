-- One day's DAU from its rollup (what dashboards and the benchmark read).
SELECT dau
FROM metrics_activity
WHERE metric_date = $day AND dimension = 'all'
