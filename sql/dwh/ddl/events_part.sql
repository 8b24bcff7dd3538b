-- events_part: one row per event (key: uuid), web (Amplitude) and mobile (AppMetrica) alike.
-- Partitioned by partition_date = the Moscow day the event was UPLOADED (the Dagster partition).
-- Metrics count by event_date = the Moscow day the event HAPPENED; late events land in later partitions.
CREATE TABLE IF NOT EXISTS events_part (
    uuid               VARCHAR   NOT NULL, -- Amplitude `uuid`; AppMetrica: deterministic UUID of (app, device, event time, name, position)
    source             VARCHAR   NOT NULL, -- 'amplitude' (web) or 'appmetrica' (mobile)
    partition_date     DATE      NOT NULL, -- Moscow day of upload (server_upload_time / event_receive_datetime)
    event_type         VARCHAR   NOT NULL, -- Amplitude `event_type`; AppMetrica `event_name`
    event_time         TIMESTAMP NOT NULL, -- when the event happened, UTC
    event_date         DATE      NOT NULL, -- Moscow calendar day of event_time
    client_event_time  TIMESTAMP,          -- device clock, UTC
    server_upload_time TIMESTAMP,          -- when the source received it, UTC
    user_key           VARCHAR   NOT NULL, -- the unit metrics count: user_id when known, else 'device:' || device_id
    user_id            VARCHAR,            -- Amplitude `user_id` / AppMetrica `profile_id`; NULL for anonymous users
    device_id          VARCHAR,            -- Amplitude `device_id` / AppMetrica `appmetrica_device_id` (uint64 kept as text)
    amplitude_id       BIGINT,             -- Amplitude's own user id; NULL for AppMetrica
    session_id         BIGINT,             -- session start in ms since epoch (Amplitude; -1 = no session) / AppMetrica session id
    event_id           BIGINT,             -- Amplitude per-device event counter
    insert_id          VARCHAR,            -- Amplitude `$insert_id` (client-side dedup key)
    platform           VARCHAR,            -- 'Web', 'Android', 'iOS'
    os_name            VARCHAR,
    app_version        VARCHAR,            -- Amplitude `version_name` / AppMetrica `app_version_name`
    country            VARCHAR,
    city               VARCHAR,
    revenue            DOUBLE,             -- event property `revenue` (Amplitude also `$revenue`) on revenue events, else NULL
    session_replay_id  VARCHAR,            -- event property `[Amplitude] Session Replay ID` = '<device_id>/<session_id>'
    os_version         VARCHAR,            -- Amplitude `os_version` (browser version on the web) / AppMetrica `os_version`
    region             VARCHAR,            -- Amplitude `region`; NULL for AppMetrica
    language           VARCHAR             -- Amplitude `language` / AppMetrica `device_locale`
);
