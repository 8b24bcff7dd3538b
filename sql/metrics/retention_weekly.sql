-- Weekly retention as of Moscow day $day for the cohort weeks (Monday..Sunday, Moscow calendar) starting on
-- $first_cohort_start or later: weeks 0..4 and "5+" (active in week 5 or any later week so far).
-- first_time cohort = users whose first active week it is; recurring = every user active that week.
-- A week that has not ended by $day is incomplete: its figures are NULL (never zero). overall_retention_rate is the
-- share of the cohort active in any later week so far, known once week 1 has ended.
WITH activity AS (
    -- Monday of the event's week, counted in whole weeks from Monday 2000-01-03: unlike date_trunc('week'), this
    -- stays a Monday on BigQuery (whose WEEK starts on Sunday) after translation.
    SELECT DISTINCT
        user_key,
        CAST(DATE '2000-01-03' + 7 * (date_diff('day', DATE '2000-01-03', event_date) // 7) * INTERVAL 1 DAY AS DATE)
            AS week_start
    FROM metrics_events
    WHERE event_date <= $day
),
first_seen AS (
    SELECT user_key, min(week_start) AS first_week
    FROM activity
    GROUP BY user_key
),
cohort_members AS (
    SELECT 'first_time' AS cohort_type, first_week AS cohort_start, user_key
    FROM first_seen
    WHERE first_week >= $first_cohort_start
    UNION ALL
    SELECT 'recurring' AS cohort_type, week_start AS cohort_start, user_key
    FROM activity
    WHERE week_start >= $first_cohort_start
),
returns AS (
    SELECT
        m.cohort_type,
        m.cohort_start,
        m.user_key,
        least(CAST(date_diff('day', m.cohort_start, a.week_start) / 7 AS INTEGER), 5) AS week_number
    FROM cohort_members AS m
    JOIN activity AS a ON a.user_key = m.user_key AND a.week_start >= m.cohort_start
),
cohorts AS (
    SELECT cohort_type, cohort_start, count(*) AS cohort_size
    FROM cohort_members
    GROUP BY cohort_type, cohort_start
),
retained AS (
    SELECT cohort_type, cohort_start, week_number, count(DISTINCT user_key) AS users
    FROM returns
    GROUP BY cohort_type, cohort_start, week_number
),
returned_later AS (
    SELECT cohort_type, cohort_start, count(DISTINCT user_key) AS users
    FROM returns
    WHERE week_number >= 1
    GROUP BY cohort_type, cohort_start
),
grid AS (
    SELECT
        c.cohort_type,
        c.cohort_start,
        c.cohort_size,
        w.week_number,
        date_diff('day', c.cohort_start, $day) >= 7 * w.week_number + 6 AS is_complete,
        date_diff('day', c.cohort_start, $day) >= 13 AS later_weeks_known
    FROM cohorts AS c
    CROSS JOIN (VALUES (0), (1), (2), (3), (4), (5)) AS w(week_number)
)
SELECT
    CAST($day AS DATE) AS metric_date,
    g.cohort_type,
    g.cohort_start,
    CAST(g.cohort_start + 6 * INTERVAL 1 DAY AS DATE) AS cohort_end,
    g.cohort_size,
    g.week_number,
    CASE WHEN g.week_number = 5 THEN 'Week 5+' ELSE 'Week ' || CAST(g.week_number AS VARCHAR) END AS week_label,
    g.is_complete,
    CASE WHEN g.is_complete THEN coalesce(r.users, 0) END AS retained_users,
    CASE WHEN g.is_complete THEN CAST(coalesce(r.users, 0) AS DOUBLE) / g.cohort_size END AS retention_rate,
    CASE WHEN g.later_weeks_known THEN CAST(coalesce(l.users, 0) AS DOUBLE) / g.cohort_size END
        AS overall_retention_rate
FROM grid AS g
LEFT JOIN retained AS r
    ON r.cohort_type = g.cohort_type AND r.cohort_start = g.cohort_start AND r.week_number = g.week_number
LEFT JOIN returned_later AS l
    ON l.cohort_type = g.cohort_type AND l.cohort_start = g.cohort_start
ORDER BY g.cohort_type, g.cohort_start, g.week_number
