-- Amplitude Export API records -> dwh_records, one row per raw line; `problem` says why a line cannot be loaded
-- ('<what is wrong>' or '<what is wrong>: <the value>').
-- {{ raw }} has every export field as text (scalars VARCHAR, objects JSON) plus raw_file, line_number, raw_line and
-- json_problem (set when the line is not a JSON object; the fast path reads lines it cannot parse as all-NULL rows).
-- Timestamps come as '2025-07-01 17:18:45.118000' (Export API) or ISO '2025-07-01T17:18:45.118Z'; utc_timestamp()
-- reads both (and honours an explicit UTC offset).
-- The optional typed fields below load as NULL when their text does not fit the column's type; the text is kept
-- in invalid_fields and the reason counted (field_checks), so no value changes silently.
{% set typed_fields = [
    ("amplitude_id", "raw.amplitude_id"), ("session_id", "raw.session_id"), ("event_id", "raw.event_id"),
    ("revenue", "COALESCE(json_extract_string(raw.event_properties, '$.revenue'), "
                "json_extract_string(raw.event_properties, '$.\"$revenue\"'))"),
    ("app_id", "raw.app"), ("schema_version", 'raw."$schema"'),
    ("is_attribution_event", "raw.is_attribution_event"), ("sample_rate", "raw.sample_rate"),
    ("paying", "raw.paying"), ("user_creation_time", "raw.user_creation_time"),
    ("client_upload_time", "raw.client_upload_time"), ("server_received_time", "raw.server_received_time"),
    ("processed_time", "raw.processed_time"), ("location_lat", "raw.location_lat"),
    ("location_lng", "raw.location_lng"),
] %}
INSERT INTO dwh_records BY NAME
WITH parsed AS (
    SELECT
        raw.raw_file,
        raw.line_number,
        raw.raw_line,
        raw.raw_bytes,
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
        raw."$insert_id" AS insert_id,
        raw.platform,
        raw.os_name,
        raw.os_version,
        raw.version_name AS app_version,
        raw.country,
        raw.region,
        raw.city,
        raw.language,
        json_extract_string(raw.event_properties, '$."[Amplitude] Session Replay ID"') AS session_replay_id,
        raw.library,
        raw.data_type,
        raw."$insert_key" AS insert_key,
        raw.amplitude_event_type,
        raw.amplitude_attribution_ids,
        raw.source_id,
        raw.partner_id,
        raw.start_version,
        raw.ip_address,
        raw.dma,
        raw.device_family,
        raw.device_type,
        raw.device_brand,
        raw.device_manufacturer,
        raw.device_model,
        raw.device_carrier AS carrier,
        NULLIF(raw.adid, '') AS google_advertising_id,
        NULLIF(raw.idfa, '') AS apple_advertising_id,
        COALESCE(NULLIF(raw.adid, ''), NULLIF(raw.idfa, '')) AS advertising_id,
        raw.data,
        raw.groups,
        raw.group_properties,
        raw.global_user_properties,
        raw.plan,
        raw.event_properties,
        raw.user_properties,
        {{ typed_columns(typed_fields) }}
    FROM {{ raw }} AS raw
)
SELECT
    * EXCLUDE (json_problem, raw_event_time, raw_server_upload_time, raw_client_event_time, raw_uuid,
               {{ raw_field_columns(typed_fields) }}),
    {{ field_checks(typed_fields) }},
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
