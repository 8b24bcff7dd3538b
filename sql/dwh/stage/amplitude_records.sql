-- Amplitude Export API records -> dwh_records, one row per raw line; `problem` says why a line cannot be loaded
-- ('<what is wrong>' or '<what is wrong>: <the value>').
-- {{ raw }} has every export field as text (scalars VARCHAR, objects JSON) plus raw_file, line_number, raw_line and
-- json_problem (set when the line is not a JSON object; the fast path reads lines it cannot parse as all-NULL rows).
-- Timestamps come as '2025-07-01 17:18:45.118000' (Export API) or ISO '2025-07-01T17:18:45.118Z'; utc_timestamp()
-- reads both (and honours an explicit UTC offset).
INSERT INTO dwh_records BY NAME
WITH parsed AS (
    SELECT
        raw.raw_file,
        raw.line_number,
        raw.raw_line,
        raw.json_problem,
        raw.event_time AS raw_event_time,
        raw.server_upload_time AS raw_server_upload_time,
        raw.client_event_time AS raw_client_event_time,
        raw.uuid AS raw_uuid,
        NULLIF(raw.uuid, '') AS uuid,
        'amplitude' AS source,
        CAST($partition_date AS DATE) AS partition_date,
        NULLIF(raw.event_type, '') AS event_type,
        utc_timestamp(raw.event_time) AS event_time,
        utc_timestamp(raw.client_event_time) AS client_event_time,
        utc_timestamp(raw.server_upload_time) AS server_upload_time,
        NULLIF(raw.user_id, '') AS user_id,
        NULLIF(raw.device_id, '') AS device_id,
        TRY_CAST(raw.amplitude_id AS BIGINT) AS amplitude_id,
        TRY_CAST(raw.session_id AS BIGINT) AS session_id,
        TRY_CAST(raw.event_id AS BIGINT) AS event_id,
        raw."$insert_id" AS insert_id,
        raw.platform,
        raw.os_name,
        raw.os_version,
        raw.version_name AS app_version,
        raw.country,
        raw.region,
        raw.city,
        raw.language,
        TRY_CAST(COALESCE(json_extract_string(raw.event_properties, '$.revenue'),
                          json_extract_string(raw.event_properties, '$."$revenue"')) AS DOUBLE) AS revenue,
        json_extract_string(raw.event_properties, '$."[Amplitude] Session Replay ID"') AS session_replay_id,
        TRY_CAST(raw.app AS BIGINT) AS app_id,
        raw.library,
        raw.data_type,
        TRY_CAST(raw."$schema" AS INTEGER) AS schema_version,
        raw."$insert_key" AS insert_key,
        raw.amplitude_event_type,
        raw.amplitude_attribution_ids,
        TRY_CAST(raw.is_attribution_event AS BOOLEAN) AS is_attribution_event,
        TRY_CAST(raw.sample_rate AS DOUBLE) AS sample_rate,
        raw.source_id,
        raw.partner_id,
        TRY_CAST(raw.paying AS BOOLEAN) AS paying,
        raw.start_version,
        utc_timestamp(raw.user_creation_time) AS user_creation_time,
        utc_timestamp(raw.client_upload_time) AS client_upload_time,
        utc_timestamp(raw.server_received_time) AS server_received_time,
        utc_timestamp(raw.processed_time) AS processed_time,
        raw.ip_address,
        raw.dma,
        TRY_CAST(raw.location_lat AS DOUBLE) AS location_lat,
        TRY_CAST(raw.location_lng AS DOUBLE) AS location_lng,
        raw.device_family,
        raw.device_type,
        raw.device_brand,
        raw.device_manufacturer,
        raw.device_model,
        raw.device_carrier AS carrier,
        COALESCE(NULLIF(raw.adid, ''), NULLIF(raw.idfa, '')) AS advertising_id,
        raw.data,
        raw.groups,
        raw.group_properties,
        raw.global_user_properties,
        raw.plan,
        raw.event_properties,
        raw.user_properties
    FROM {{ raw }} AS raw
)
SELECT
    * EXCLUDE (json_problem, raw_event_time, raw_server_upload_time, raw_client_event_time, raw_uuid),
    COALESCE(user_id, 'device:' || device_id) AS user_key,
    CAST(event_time + INTERVAL 3 HOUR AS DATE) AS event_date,  -- Moscow is UTC+3 all year
    CASE
        WHEN json_problem IS NOT NULL THEN json_problem
        WHEN raw_uuid IS NULL AND event_type IS NULL AND raw_event_time IS NULL AND device_id IS NULL
            THEN 'not a JSON object with event fields'
        WHEN uuid IS NULL THEN 'missing uuid'
        WHEN TRY_CAST(uuid AS UUID) IS NULL THEN 'uuid is not a UUID: ' || raw_uuid
        WHEN event_type IS NULL THEN 'missing event_type'
        WHEN raw_event_time IS NULL THEN 'missing event_time'
        WHEN event_time IS NULL THEN 'event_time is not a timestamp: ' || raw_event_time
        WHEN raw_server_upload_time IS NULL THEN 'missing server_upload_time'
        WHEN server_upload_time IS NULL THEN 'server_upload_time is not a timestamp: ' || raw_server_upload_time
        WHEN client_event_time IS NULL AND raw_client_event_time IS NOT NULL
            THEN 'client_event_time is not a timestamp: ' || raw_client_event_time
        WHEN user_id IS NULL AND device_id IS NULL THEN 'neither user_id nor device_id'
    END AS problem
FROM parsed
