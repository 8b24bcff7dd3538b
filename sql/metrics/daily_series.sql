-- Daily history for the forecasts, $first_day..$day: DAU and the counts of the $top_n most frequent active event
-- types of the last 30 days ($month_start..$day). Long form: series = 'dau' or 'events:<event type>'.
-- Days before the first upload partition in the warehouse hold only late stragglers, not a day's activity: the
-- history starts at that partition.
WITH history AS (
    SELECT user_key, event_date, event_type
    FROM metrics_events
    WHERE event_date BETWEEN $first_day AND $day
      AND event_date >= (SELECT min(partition_date) FROM events_part)
),
top_types AS (
    SELECT event_type
    FROM (
        SELECT event_type, row_number() OVER (ORDER BY count(*) DESC, event_type) AS type_rank
        FROM history
        WHERE event_date >= $month_start
        GROUP BY event_type
    ) AS ranked
    WHERE type_rank <= $top_n
)
SELECT 'dau' AS series, event_date, count(DISTINCT user_key) AS value
FROM history
GROUP BY event_date
UNION ALL
SELECT 'events:' || h.event_type AS series, h.event_date, count(*) AS value
FROM history AS h
JOIN top_types AS t ON t.event_type = h.event_type
GROUP BY h.event_type, h.event_date
ORDER BY series, event_date
