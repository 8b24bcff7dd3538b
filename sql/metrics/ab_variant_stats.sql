-- One experiment metric as of Moscow day $day, per variant. A user is assigned at the first exposure to flag
-- $flag since $start_date: an event of a type in $exposure_event_types whose properties carry flag_key = $flag
-- (variant in `variant`), or any event carrying the user property $user_property ('[Experiment] <flag>').
-- Users seen in more than one variant get variant NULL (reported, left out of the analysis).
-- Per user: the metric events (types $metric_event_types) from the exposure on, within $window_days days;
-- value = 1/0 converted ($metric_kind 'conversion'), or the revenue / count of those events ('mean', $value).
WITH event_exposures AS (
    SELECT e.user_key, e.event_time, p.event_properties ->> 'variant' AS variant
    FROM tmp_event_properties AS p
    JOIN metrics_counted_events AS e ON e.uuid = p.uuid AND e.source = p.source
    WHERE list_contains($exposure_event_types, p.event_type)
      AND (p.event_properties ->> 'flag_key') = $flag
      AND p.partition_date >= $start_date
      AND e.event_date BETWEEN $start_date AND $day
),
property_exposures AS (
    SELECT e.user_key, e.event_time, u.user_properties ->> $user_property AS variant
    FROM tmp_user_properties AS u
    JOIN metrics_counted_events AS e ON e.uuid = u.uuid AND e.source = u.source
    WHERE u.partition_date >= $start_date
      AND (u.user_properties ->> $user_property) IS NOT NULL
      AND e.event_date BETWEEN $start_date AND $day
),
exposures AS (
    SELECT user_key, event_time, variant FROM event_exposures
    UNION ALL
    SELECT user_key, event_time, variant FROM property_exposures
),
assignments AS (
    SELECT
        user_key,
        min(event_time) AS exposure_time,
        CASE WHEN count(DISTINCT variant) = 1 THEN min(variant) END AS variant
    FROM exposures
    WHERE variant IS NOT NULL
    GROUP BY user_key
),
outcomes AS (
    SELECT a.user_key, a.variant, a.exposure_time, count(c.user_key) AS metric_events, coalesce(sum(c.revenue), 0) AS revenue
    FROM assignments AS a
    LEFT JOIN metrics_events AS c
        ON c.user_key = a.user_key
        AND list_contains($metric_event_types, c.event_type)
        AND c.event_time >= a.exposure_time
        AND c.event_time < a.exposure_time + $window_days * INTERVAL 1 DAY
        AND c.event_date <= $day
    GROUP BY a.user_key, a.variant, a.exposure_time
),
user_values AS (
    SELECT
        variant,
        exposure_time,
        metric_events,
        CASE
            WHEN $metric_kind = 'conversion' THEN CASE WHEN metric_events > 0 THEN 1.0 ELSE 0.0 END
            WHEN $value = 'revenue' THEN CAST(revenue AS DOUBLE)
            ELSE CAST(metric_events AS DOUBLE)
        END AS value
    FROM outcomes
)
SELECT
    variant,
    count(*) AS exposures,
    sum(CASE WHEN metric_events > 0 THEN 1 ELSE 0 END) AS conversions,
    avg(value) AS metric_value,
    var_samp(value) AS metric_variance,
    min(exposure_time) AS first_exposure_time
FROM user_values
GROUP BY variant
ORDER BY variant
