-- tmp_event_properties: every event's full property bag as JSON, so no property is ever dropped.
CREATE TABLE IF NOT EXISTS tmp_event_properties (
    uuid             VARCHAR   NOT NULL, -- events_part.uuid
    source           VARCHAR   NOT NULL,
    partition_date   DATE      NOT NULL, -- Moscow upload day (the partition)
    event_time       TIMESTAMP NOT NULL, -- UTC
    event_type       VARCHAR   NOT NULL,
    event_properties JSON                -- Amplitude `event_properties`; AppMetrica `event_json` parsed
);
