-- Per-user activity as of Moscow day $day over the $window_days days $window_start..$day (users active in it):
-- events, active days (all and the last 7: $week_start..$day), sessions, days since the last active day, the share
-- of events in each Moscow hour (h00..h23, summing to 1), an engagement score and the churn-risk rule:
--   engagement_score = 0.4 * active_days / window + 0.4 * (1 - days_since_last_activity / window)
--                      + 0.2 * min(sessions / window, 1)          (frequency, recency, depth; 0..1)
--   churn_risk = 'high'   when inactive for 7+ days,
--                'medium' when inactive for 3-6 days or active on at most one of the last 7 days,
--                'low'    otherwise.
-- The same query gives the churn model its features for past days (docs/metrics.md).
WITH per_user AS (
    SELECT
        user_key,
        count(*) AS events,
        count(DISTINCT event_date) AS active_days,
        count(DISTINCT CASE WHEN event_date >= $week_start THEN event_date END) AS active_days_last_7,
        count(DISTINCT CASE WHEN session_id IS NOT NULL AND session_id <> -1
                            THEN source || ':' || CAST(session_id AS VARCHAR) END) AS sessions,
        date_diff('day', max(event_date), $day) AS days_since_last_activity,
        sum(CASE WHEN moscow_hour = 0 THEN 1 ELSE 0 END) AS h00_events,
        sum(CASE WHEN moscow_hour = 1 THEN 1 ELSE 0 END) AS h01_events,
        sum(CASE WHEN moscow_hour = 2 THEN 1 ELSE 0 END) AS h02_events,
        sum(CASE WHEN moscow_hour = 3 THEN 1 ELSE 0 END) AS h03_events,
        sum(CASE WHEN moscow_hour = 4 THEN 1 ELSE 0 END) AS h04_events,
        sum(CASE WHEN moscow_hour = 5 THEN 1 ELSE 0 END) AS h05_events,
        sum(CASE WHEN moscow_hour = 6 THEN 1 ELSE 0 END) AS h06_events,
        sum(CASE WHEN moscow_hour = 7 THEN 1 ELSE 0 END) AS h07_events,
        sum(CASE WHEN moscow_hour = 8 THEN 1 ELSE 0 END) AS h08_events,
        sum(CASE WHEN moscow_hour = 9 THEN 1 ELSE 0 END) AS h09_events,
        sum(CASE WHEN moscow_hour = 10 THEN 1 ELSE 0 END) AS h10_events,
        sum(CASE WHEN moscow_hour = 11 THEN 1 ELSE 0 END) AS h11_events,
        sum(CASE WHEN moscow_hour = 12 THEN 1 ELSE 0 END) AS h12_events,
        sum(CASE WHEN moscow_hour = 13 THEN 1 ELSE 0 END) AS h13_events,
        sum(CASE WHEN moscow_hour = 14 THEN 1 ELSE 0 END) AS h14_events,
        sum(CASE WHEN moscow_hour = 15 THEN 1 ELSE 0 END) AS h15_events,
        sum(CASE WHEN moscow_hour = 16 THEN 1 ELSE 0 END) AS h16_events,
        sum(CASE WHEN moscow_hour = 17 THEN 1 ELSE 0 END) AS h17_events,
        sum(CASE WHEN moscow_hour = 18 THEN 1 ELSE 0 END) AS h18_events,
        sum(CASE WHEN moscow_hour = 19 THEN 1 ELSE 0 END) AS h19_events,
        sum(CASE WHEN moscow_hour = 20 THEN 1 ELSE 0 END) AS h20_events,
        sum(CASE WHEN moscow_hour = 21 THEN 1 ELSE 0 END) AS h21_events,
        sum(CASE WHEN moscow_hour = 22 THEN 1 ELSE 0 END) AS h22_events,
        sum(CASE WHEN moscow_hour = 23 THEN 1 ELSE 0 END) AS h23_events
    FROM metrics_events
    WHERE event_date BETWEEN $window_start AND $day
    GROUP BY user_key
)
SELECT
    CAST($day AS DATE) AS metric_date,
    user_key,
    events,
    active_days,
    active_days_last_7,
    sessions,
    days_since_last_activity,
    0.4 * CAST(active_days AS DOUBLE) / $window_days
        + 0.4 * (1 - CAST(days_since_last_activity AS DOUBLE) / $window_days)
        + 0.2 * least(CAST(sessions AS DOUBLE) / $window_days, 1.0) AS engagement_score,
    CASE
        WHEN days_since_last_activity >= 7 THEN 'high'
        WHEN days_since_last_activity >= 3 OR active_days_last_7 <= 1 THEN 'medium'
        ELSE 'low'
    END AS churn_risk,
    CAST(h00_events AS DOUBLE) / events AS h00,
    CAST(h01_events AS DOUBLE) / events AS h01,
    CAST(h02_events AS DOUBLE) / events AS h02,
    CAST(h03_events AS DOUBLE) / events AS h03,
    CAST(h04_events AS DOUBLE) / events AS h04,
    CAST(h05_events AS DOUBLE) / events AS h05,
    CAST(h06_events AS DOUBLE) / events AS h06,
    CAST(h07_events AS DOUBLE) / events AS h07,
    CAST(h08_events AS DOUBLE) / events AS h08,
    CAST(h09_events AS DOUBLE) / events AS h09,
    CAST(h10_events AS DOUBLE) / events AS h10,
    CAST(h11_events AS DOUBLE) / events AS h11,
    CAST(h12_events AS DOUBLE) / events AS h12,
    CAST(h13_events AS DOUBLE) / events AS h13,
    CAST(h14_events AS DOUBLE) / events AS h14,
    CAST(h15_events AS DOUBLE) / events AS h15,
    CAST(h16_events AS DOUBLE) / events AS h16,
    CAST(h17_events AS DOUBLE) / events AS h17,
    CAST(h18_events AS DOUBLE) / events AS h18,
    CAST(h19_events AS DOUBLE) / events AS h19,
    CAST(h20_events AS DOUBLE) / events AS h20,
    CAST(h21_events AS DOUBLE) / events AS h21,
    CAST(h22_events AS DOUBLE) / events AS h22,
    CAST(h23_events AS DOUBLE) / events AS h23
FROM per_user
ORDER BY user_key
