-- user_locations: where users were seen on an upload day, one row per
-- (partition_date, source, user_key, country, region, city); NULL parts of a location count as one value.
CREATE TABLE IF NOT EXISTS user_locations (
    partition_date   DATE      NOT NULL, -- Moscow upload day (the partition)
    source           VARCHAR   NOT NULL, -- 'amplitude' or 'appmetrica'
    user_key         VARCHAR   NOT NULL, -- events_part.user_key
    country          VARCHAR,            -- as events_part.country
    region           VARCHAR,            -- as events_part.region (Amplitude only)
    city             VARCHAR,            -- as events_part.city
    first_event_time TIMESTAMP NOT NULL, -- UTC, earliest event of the user at this location in the partition
    last_event_time  TIMESTAMP NOT NULL, -- UTC, latest one
    events           BIGINT    NOT NULL  -- events of the user at this location in the partition
);
