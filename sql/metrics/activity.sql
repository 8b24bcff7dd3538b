-- Active users of Moscow day $day: DAU, WAU ($week_start..$day), MAU ($month_start..$day), new users (first active
-- day anywhere is $day), active events and stickiness (DAU / MAU); overall, by source and by platform.
WITH window_events AS (
    SELECT user_key, event_date, source_group, platform
    FROM metrics_events
    WHERE event_date BETWEEN $month_start AND $day
),
new_users AS (
    SELECT user_key
    FROM metrics_events
    WHERE event_date <= $day
    GROUP BY user_key
    HAVING min(event_date) = $day
),
by_segment AS (
    SELECT
        CASE
            WHEN GROUPING(w.source_group) = 0 THEN 'source'
            WHEN GROUPING(w.platform) = 0 THEN 'platform'
            ELSE 'all'
        END AS dimension,
        CASE
            WHEN GROUPING(w.source_group) = 0 THEN w.source_group
            WHEN GROUPING(w.platform) = 0 THEN w.platform
            ELSE 'all'
        END AS segment,
        count(DISTINCT CASE WHEN w.event_date = $day THEN w.user_key END) AS dau,
        count(DISTINCT CASE WHEN w.event_date >= $week_start THEN w.user_key END) AS wau,
        count(DISTINCT w.user_key) AS mau,
        count(DISTINCT CASE WHEN w.event_date = $day THEN n.user_key END) AS new_users,
        coalesce(sum(CASE WHEN w.event_date = $day THEN 1 ELSE 0 END), 0) AS events
    FROM window_events AS w
    LEFT JOIN new_users AS n ON n.user_key = w.user_key
    GROUP BY GROUPING SETS ((), (w.source_group), (w.platform))
)
SELECT
    CAST($day AS DATE) AS metric_date,
    dimension,
    segment,
    dau,
    wau,
    mau,
    new_users,
    events,
    CASE WHEN mau > 0 THEN CAST(dau AS DOUBLE) / mau END AS stickiness
FROM by_segment
ORDER BY dimension, segment
