-- Events of the replay sessions that belong to partition $day, with their properties.
-- A session belongs to the Moscow upload day of its first events: it carries `[Amplitude] Session Replay ID` on
-- events uploaded on $day and on none uploaded on $previous_day, so a session whose uploads straddle midnight is
-- reported once. All of the session's events uploaded on $day are read (not only those with the property).
WITH day_replays AS (
    SELECT device_id, session_id, max(session_replay_id) AS replay_id
    FROM events_part
    WHERE partition_date = $day AND session_replay_id IS NOT NULL AND session_replay_id <> ''
    GROUP BY device_id, session_id
),
earlier_replays AS (
    SELECT DISTINCT device_id, session_id
    FROM events_part
    WHERE partition_date = $previous_day AND session_replay_id IS NOT NULL AND session_replay_id <> ''
)
SELECT
    r.replay_id,
    e.uuid,
    e.device_id,
    e.session_id,
    e.user_key,
    e.user_id,
    e.platform,
    e.country,
    e.event_type,
    e.event_time,
    CAST(p.event_properties AS VARCHAR) AS event_properties
FROM day_replays AS r
JOIN events_part AS e
    ON e.device_id = r.device_id AND e.session_id = r.session_id AND e.partition_date = $day
LEFT JOIN tmp_event_properties AS p
    ON p.uuid = e.uuid AND p.partition_date = $day
WHERE NOT EXISTS (
    SELECT 1 FROM earlier_replays AS x WHERE x.device_id = r.device_id AND x.session_id = r.session_id
)
ORDER BY r.replay_id, e.event_time, e.uuid
