-- replay_links: one row per session of the day that carries `[Amplitude] Session Replay ID`, with the link to
-- Amplitude's replay player. Partitioned by partition_date = the Moscow upload day the session belongs to.
CREATE TABLE IF NOT EXISTS replay_links (
    partition_date   DATE      NOT NULL, -- Moscow day its first events were uploaded (the Dagster partition)
    replay_id        VARCHAR   NOT NULL, -- '<device_id>/<session_id>'
    replay_url       VARCHAR   NOT NULL, -- https://app.amplitude.com/analytics/<org>/session-replay/project/<id>/search/replay?sessionReplayId=...
    user_key         VARCHAR   NOT NULL, -- events_part.user_key of the session's last event
    user_id          VARCHAR,            -- the session's last known user_id
    device_id        VARCHAR   NOT NULL,
    session_id       BIGINT    NOT NULL, -- session start, ms since epoch
    session_start    TIMESTAMP NOT NULL, -- first event, UTC
    session_end      TIMESTAMP NOT NULL, -- last event, UTC
    duration_seconds DOUBLE    NOT NULL,
    event_count      INTEGER   NOT NULL,
    error_count      INTEGER   NOT NULL, -- events carrying an error message
    platform         VARCHAR,
    country          VARCHAR
);
