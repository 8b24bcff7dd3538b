-- Lifecycle of Moscow day $day against the day before ($previous_day): new (first active day), returning (active
-- both days), resurrecting (seen before, not active the day before), dormant (active the day before only).
WITH first_seen AS (
    SELECT user_key, min(event_date) AS first_date
    FROM metrics_events
    WHERE event_date <= $day
    GROUP BY user_key
),
today AS (
    SELECT DISTINCT user_key FROM metrics_events WHERE event_date = $day
),
yesterday AS (
    SELECT DISTINCT user_key FROM metrics_events WHERE event_date = $previous_day
),
states AS (
    SELECT
        CASE
            WHEN t.user_key IS NULL THEN 'dormant'
            WHEN y.user_key IS NOT NULL THEN 'returning'
            WHEN f.first_date = $day THEN 'new'
            ELSE 'resurrecting'
        END AS state
    FROM today AS t
    FULL OUTER JOIN yesterday AS y ON y.user_key = t.user_key
    LEFT JOIN first_seen AS f ON f.user_key = t.user_key
),
counts AS (
    SELECT
        sum(CASE WHEN state = 'new' THEN 1 ELSE 0 END) AS new_users,
        sum(CASE WHEN state = 'returning' THEN 1 ELSE 0 END) AS returning_users,
        sum(CASE WHEN state = 'resurrecting' THEN 1 ELSE 0 END) AS resurrecting_users,
        sum(CASE WHEN state = 'dormant' THEN 1 ELSE 0 END) AS dormant_users
    FROM states
)
SELECT
    CAST($day AS DATE) AS metric_date,
    coalesce(new_users + returning_users + resurrecting_users, 0) AS active_users,
    coalesce(new_users, 0) AS new_users,
    coalesce(returning_users, 0) AS returning_users,
    coalesce(resurrecting_users, 0) AS resurrecting_users,
    coalesce(dormant_users, 0) AS dormant_users,
    CASE WHEN dormant_users > 0 THEN CAST(new_users + resurrecting_users AS DOUBLE) / dormant_users END AS quick_ratio
FROM counts
