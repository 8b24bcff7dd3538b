-- permanent_user_properties: one row per user (key: user_key), web and mobile together, upserted by every run.
-- Which raw value fills which column is decided by field_mappings/<source>.yaml; a mapping marks a column
-- `keep: latest` (the newest non-empty value wins, ordered by event_time then uuid) or `keep: first` (the oldest
-- wins). value_events records, per column, the event that supplied the value: merges compare those events, so the
-- result does not depend on the order partitions are loaded in, and a re-materialized partition whose events are
-- gone takes back the values they supplied (see docs/dwh.md).
CREATE TABLE IF NOT EXISTS permanent_user_properties (
    user_key           VARCHAR   NOT NULL, -- events_part.user_key: user_id, else 'device:' || device_id
    user_id            VARCHAR,            -- events_part.user_id (NULL for anonymous devices)
    first_source       VARCHAR,            -- 'amplitude' or 'appmetrica': where the user was first seen
    first_platform     VARCHAR,            -- platform of the user's first event ('Web', 'Android', 'iOS')
    user_creation_time TIMESTAMP,          -- Amplitude `user_creation_time`, UTC
    registration_date  DATE,               -- user property `registration_date`
    birth_year         INTEGER,            -- user property `birth_year`
    gender             VARCHAR,            -- user property `gender`
    initial_utm_source VARCHAR,            -- user property `initial_utm_source` (set once by the SDK)
    updated_at         TIMESTAMP NOT NULL, -- UTC event_time of the newest event that supplied one of the values
    value_events       JSON      NOT NULL  -- {column: '<event_time UTC, microseconds>|<uuid>'} for each filled column
);
