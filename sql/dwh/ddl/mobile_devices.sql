-- mobile_devices: the mobile devices (platform other than 'Web', from either source) seen on an upload day, one row
-- per (partition_date, source, device_id) with the device's attributes as of its last event that day.
-- A device's current state is its row of the latest partition; its history is the sequence of its rows.
CREATE TABLE IF NOT EXISTS mobile_devices (
    partition_date      DATE      NOT NULL, -- Moscow upload day (the partition)
    source              VARCHAR   NOT NULL, -- 'appmetrica' (or 'amplitude' for a mobile SDK project)
    device_id           VARCHAR   NOT NULL, -- events_part.device_id (AppMetrica uint64 kept as text)
    user_key            VARCHAR   NOT NULL, -- events_part.user_key of the device's last event that day
    user_id             VARCHAR,            -- last non-empty user_id of the device that day
    installation_id     VARCHAR,            -- AppMetrica installation of the last event
    platform            VARCHAR,            -- 'Android', 'iOS', ...
    os_name             VARCHAR,
    os_version          VARCHAR,
    device_manufacturer VARCHAR,
    device_model        VARCHAR,
    device_type         VARCHAR,            -- 'phone', 'tablet', ...
    language            VARCHAR,            -- device locale / language
    app_version         VARCHAR,
    carrier             VARCHAR,
    connection_type     VARCHAR,
    advertising_id      VARCHAR,            -- GAID / IDFA when the device shares it
    first_event_time    TIMESTAMP NOT NULL, -- UTC, earliest event of the device in the partition
    last_event_time     TIMESTAMP NOT NULL, -- UTC, latest event of the device in the partition
    events              BIGINT    NOT NULL  -- events of the device in the partition
);
