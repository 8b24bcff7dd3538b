-- changeable_user_properties: history of the user properties that change (key: user_key, source, uuid).
-- field_mappings/<source>.yaml names the columns. A row is written only when a user's values as reported by a
-- source differ from that user's previous row for the same source; valid_from is when the new values appeared
-- and the row stays valid until the next row of the same (user_key, source). Rows are owned by the partition of
-- the event that caused them (partition_date), so a re-materialized partition replaces exactly its own rows;
-- events older than the user's current row (late uploads) never rewind the history (see docs/dwh.md).
CREATE TABLE IF NOT EXISTS changeable_user_properties (
    user_key       VARCHAR   NOT NULL, -- events_part.user_key
    source         VARCHAR   NOT NULL, -- 'amplitude' or 'appmetrica': histories are kept per source
    valid_from     TIMESTAMP NOT NULL, -- UTC event_time of the event that carried the new values
    uuid           VARCHAR   NOT NULL, -- events_part.uuid of that event
    partition_date DATE      NOT NULL, -- partition of that event
    plan           VARCHAR,            -- user property `plan`
    city           VARCHAR,            -- user property `city` (Amplitude) / geo city (AppMetrica)
    country        VARCHAR,            -- events_part.country
    language       VARCHAR,            -- events_part.language
    app_version    VARCHAR             -- user property `app_version` (Amplitude) / app version (AppMetrica)
);
