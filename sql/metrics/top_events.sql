-- The $top_n most frequent active event types of Moscow day $day with their unique users; overall, by source and
-- by platform. Ties go to the type with more users, then to the alphabetically first.
WITH day_events AS (
    SELECT user_key, event_type, source_group, platform
    FROM metrics_events
    WHERE event_date = $day
),
counts AS (
    SELECT
        CASE
            WHEN GROUPING(source_group) = 0 THEN 'source'
            WHEN GROUPING(platform) = 0 THEN 'platform'
            ELSE 'all'
        END AS dimension,
        CASE
            WHEN GROUPING(source_group) = 0 THEN source_group
            WHEN GROUPING(platform) = 0 THEN platform
            ELSE 'all'
        END AS segment,
        event_type,
        count(*) AS event_count,
        count(DISTINCT user_key) AS unique_users
    FROM day_events
    GROUP BY GROUPING SETS ((event_type), (source_group, event_type), (platform, event_type))
),
ranked AS (
    SELECT
        dimension,
        segment,
        event_type,
        event_count,
        unique_users,
        row_number() OVER (
            PARTITION BY dimension, segment ORDER BY event_count DESC, unique_users DESC, event_type
        ) AS event_rank
    FROM counts
)
SELECT CAST($day AS DATE) AS metric_date, dimension, segment, event_rank, event_type, event_count, unique_users
FROM ranked
WHERE event_rank <= $top_n
ORDER BY dimension, segment, event_rank
