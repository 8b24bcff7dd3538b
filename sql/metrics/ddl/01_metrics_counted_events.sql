-- The events metrics may count, with the late-arrival rule applied in one place.
-- An event counts for its Moscow day event_date when it was uploaded (partition_date) at most 3 days later:
-- metric partition D reads upload partitions D..D+3 and is recomputed when they land (LATE_DAYS in
-- analytics_dagster/lib/metrics/rules.py must equal the 3 below; a test checks both).
CREATE OR REPLACE VIEW metrics_counted_events AS
SELECT
    uuid,
    source,
    -- The segment "by source" is named for the source, not for a platform: Amplitude also records mobile-SDK events,
    -- so "web" would be wrong for it (the platform segments come from the platform field).
    CASE source WHEN 'amplitude' THEN 'Amplitude' WHEN 'appmetrica' THEN 'AppMetrica' ELSE source END AS source_group,
    coalesce(platform, 'unknown') AS platform,
    partition_date,
    event_date,
    event_time,
    extract(HOUR FROM event_time + INTERVAL 3 HOUR) AS moscow_hour,
    event_type,
    user_key,
    session_id,
    revenue
FROM events_part
WHERE date_diff('day', event_date, partition_date) <= 3
