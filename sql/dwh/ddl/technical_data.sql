-- technical_data: one row per event (key: uuid) with every delivery/SDK/device field of the raw record that
-- events_part does not carry, so nothing the sources send is lost. Partitioned like events_part.
CREATE TABLE IF NOT EXISTS technical_data (
    uuid                      VARCHAR   NOT NULL, -- events_part.uuid
    source                    VARCHAR   NOT NULL, -- 'amplitude' or 'appmetrica'
    partition_date            DATE      NOT NULL, -- Moscow upload day (the partition)
    event_time                TIMESTAMP NOT NULL, -- UTC, as events_part.event_time
    raw_file                  VARCHAR   NOT NULL, -- raw object the record was read from (raw/<source>/<day>/<file>)
    app_id                    BIGINT,             -- Amplitude `app` (project id) / AppMetrica `application_id`
    library                   VARCHAR,            -- Amplitude SDK `library`, e.g. 'amplitude-ts/2.11.8'
    data_type                 VARCHAR,            -- Amplitude `data_type` ('event', 'identify', ...)
    schema_version            INTEGER,            -- Amplitude `$schema`
    insert_key                VARCHAR,            -- Amplitude `$insert_key`
    amplitude_event_type      VARCHAR,            -- Amplitude's internal event type (e.g. for merged users)
    amplitude_attribution_ids VARCHAR,
    is_attribution_event      BOOLEAN,
    sample_rate               DOUBLE,
    source_id                 VARCHAR,            -- Amplitude `source_id` (ingestion source)
    partner_id                VARCHAR,
    paying                    BOOLEAN,            -- Amplitude `paying`
    start_version             VARCHAR,            -- Amplitude `start_version`: app version of the user's first event
    user_creation_time        TIMESTAMP,          -- Amplitude `user_creation_time`, UTC
    client_upload_time        TIMESTAMP,          -- Amplitude `client_upload_time` (device clock), UTC
    server_received_time      TIMESTAMP,          -- Amplitude `server_received_time`, UTC
    processed_time            TIMESTAMP,          -- Amplitude `processed_time`, UTC
    event_receive_time        TIMESTAMP,          -- AppMetrica `event_receive_timestamp`, UTC
    ip_address                VARCHAR,            -- Amplitude `ip_address`
    dma                       VARCHAR,            -- Amplitude `dma` (US designated market area)
    location_lat              DOUBLE,             -- Amplitude `location_lat`
    location_lng              DOUBLE,             -- Amplitude `location_lng`
    device_family             VARCHAR,            -- Amplitude `device_family`
    device_type               VARCHAR,            -- Amplitude `device_type` / AppMetrica `device_type` ('phone', 'tablet')
    device_brand              VARCHAR,            -- Amplitude `device_brand`
    device_manufacturer       VARCHAR,            -- Amplitude / AppMetrica `device_manufacturer`
    device_model              VARCHAR,            -- Amplitude / AppMetrica `device_model`
    carrier                   VARCHAR,            -- Amplitude `device_carrier` / AppMetrica `operator_name`
    connection_type           VARCHAR,            -- AppMetrica `connection_type` ('wifi', 'cell')
    mcc                       VARCHAR,            -- AppMetrica mobile country code
    mnc                       VARCHAR,            -- AppMetrica mobile network code
    installation_id           VARCHAR,            -- AppMetrica `installation_id`
    app_package_name          VARCHAR,            -- AppMetrica `app_package_name`
    advertising_id            VARCHAR,            -- the first of google_advertising_id, apple_advertising_id
    data                      JSON,               -- Amplitude `data` (ingestion metadata)
    groups                    JSON,               -- Amplitude `groups`
    group_properties          JSON,               -- Amplitude `group_properties`
    global_user_properties    JSON,               -- Amplitude `global_user_properties`
    plan                      JSON,               -- Amplitude tracking-plan info `plan`
    google_advertising_id     VARCHAR,            -- Amplitude `adid` / AppMetrica `google_aid` (Android GAID)
    apple_advertising_id      VARCHAR,            -- Amplitude `idfa` / AppMetrica `ios_ifa` (iOS IDFA)
    device_ipv6               VARCHAR,            -- AppMetrica `device_ipv6`
    ios_ifv                   VARCHAR,            -- AppMetrica `ios_ifv` (identifier for vendor)
    original_device_model     VARCHAR,            -- AppMetrica `original_device_model` (model as the device reports it)
    windows_aid               VARCHAR,            -- AppMetrica `windows_aid` (Windows advertising id)
    app_build_number          VARCHAR,            -- AppMetrica `app_build_number`
    invalid_fields            JSON                -- fields whose value did not fit their type: loaded as NULL, the raw
                                                  -- text kept here ({"session_id": "abc"}); NULL when all fitted
);
