-- N-day retention as of Moscow day $day for the cohorts of $first_cohort_date..$day, D0..D30 in calendar days.
-- first_time cohort = users whose first active day is cohort_date; recurring = every user active on cohort_date.
-- "on day N" = active on cohort_date + N; "on or after day N" = active on cohort_date + N or any later day so far.
-- Days after $day are not complete yet: their figures are NULL (never zero).
WITH activity AS (
    SELECT DISTINCT user_key, event_date
    FROM metrics_events
    WHERE event_date <= $day
),
first_seen AS (
    SELECT user_key, min(event_date) AS first_date
    FROM activity
    GROUP BY user_key
),
cohort_members AS (
    SELECT 'first_time' AS cohort_type, first_date AS cohort_date, user_key
    FROM first_seen
    WHERE first_date >= $first_cohort_date
    UNION ALL
    SELECT 'recurring' AS cohort_type, event_date AS cohort_date, user_key
    FROM activity
    WHERE event_date >= $first_cohort_date
),
returns AS (
    SELECT m.cohort_type, m.cohort_date, m.user_key, date_diff('day', m.cohort_date, a.event_date) AS day_number
    FROM cohort_members AS m
    JOIN activity AS a ON a.user_key = m.user_key AND a.event_date >= m.cohort_date
),
cohorts AS (
    SELECT cohort_type, cohort_date, count(*) AS cohort_size
    FROM cohort_members
    GROUP BY cohort_type, cohort_date
),
returned_on AS (
    SELECT cohort_type, cohort_date, day_number, count(*) AS users
    FROM returns
    GROUP BY cohort_type, cohort_date, day_number
),
last_returns AS (
    SELECT cohort_type, cohort_date, last_day_number, count(*) AS users
    FROM (
        SELECT cohort_type, cohort_date, user_key, max(day_number) AS last_day_number
        FROM returns
        GROUP BY cohort_type, cohort_date, user_key
    ) AS per_user
    GROUP BY cohort_type, cohort_date, last_day_number
),
grid AS (
    SELECT
        c.cohort_type,
        c.cohort_date,
        c.cohort_size,
        d.day_number,
        date_diff('day', c.cohort_date, $day) >= d.day_number AS is_complete
    FROM cohorts AS c
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12), (13), (14), (15), (16), (17), (18), (19), (20), (21), (22), (23), (24), (25), (26), (27), (28), (29), (30)) AS d(day_number)
),
returned_on_or_after AS (
    SELECT g.cohort_type, g.cohort_date, g.day_number, sum(l.users) AS users
    FROM grid AS g
    JOIN last_returns AS l
        ON l.cohort_type = g.cohort_type AND l.cohort_date = g.cohort_date AND l.last_day_number >= g.day_number
    GROUP BY g.cohort_type, g.cohort_date, g.day_number
)
SELECT
    CAST($day AS DATE) AS metric_date,
    g.cohort_type,
    g.cohort_date,
    g.cohort_size,
    g.day_number,
    g.is_complete,
    CASE WHEN g.is_complete THEN coalesce(o.users, 0) END AS returned_on_day,
    CASE WHEN g.is_complete THEN coalesce(a.users, 0) END AS returned_on_or_after_day,
    CASE WHEN g.is_complete THEN CAST(coalesce(o.users, 0) AS DOUBLE) / g.cohort_size END AS retention_on_day,
    CASE WHEN g.is_complete THEN CAST(coalesce(a.users, 0) AS DOUBLE) / g.cohort_size END AS retention_on_or_after_day
FROM grid AS g
LEFT JOIN returned_on AS o
    ON o.cohort_type = g.cohort_type AND o.cohort_date = g.cohort_date AND o.day_number = g.day_number
LEFT JOIN returned_on_or_after AS a
    ON a.cohort_type = g.cohort_type AND a.cohort_date = g.cohort_date AND a.day_number = g.day_number
ORDER BY g.cohort_type, g.cohort_date, g.day_number
