-- AppMetrica Logs API `events` records -> dwh_records, one row per element of the body's `data` array; `problem`
-- says why a record cannot be loaded. {{ raw }} has every field as text (the API sends only strings) plus raw_file,
-- line_number (the record's position in `data`, from 1), raw_line and json_problem.
-- AppMetrica has no event id: uuid is an MD5-based UUID of (application, device, event time, name, attributes,
-- occurrence), occurrence numbering identical records of the day, so a re-sent day maps onto the same uuids.
-- The optional typed fields load as NULL when their text does not fit; the text is kept in invalid_fields and the
-- reason counted (field_checks), so no value changes silently.
{% set typed_fields = [
    ("session_id", "raw_session_id"), ("app_id", "raw_application_id"),
    ("revenue", "json_extract_string(event_properties, '$.revenue')"),
] %}
INSERT INTO dwh_records BY NAME
WITH fields AS (
    SELECT
        raw.raw_file,
        raw.line_number,
        raw.raw_line,
        raw.raw_bytes,
        raw.json_problem,
        NULLIF(raw.event_name, '') AS event_type,
        NULLIF(raw.appmetrica_device_id, '') AS device_id,
        NULLIF(raw.application_id, '') AS raw_application_id,
        raw.event_timestamp AS raw_event_timestamp,
        raw.event_receive_timestamp AS raw_receive_timestamp,
        NULLIF(raw.event_json, '') AS raw_event_json,
        int_of(raw.event_timestamp) AS event_seconds,
        int_of(raw.event_receive_timestamp) AS receive_seconds,
        NULLIF(raw.profile_id, '') AS user_id,
        raw.session_id AS raw_session_id,
        NULLIF(raw.os_name, '') AS os_name,
        NULLIF(raw.os_version, '') AS os_version,
        NULLIF(raw.app_version_name, '') AS app_version,
        NULLIF(raw.country_iso_code, '') AS country,
        NULLIF(raw.city, '') AS city,
        NULLIF(raw.device_locale, '') AS language,
        NULLIF(raw.device_type, '') AS device_type,
        NULLIF(raw.device_manufacturer, '') AS device_manufacturer,
        NULLIF(raw.device_model, '') AS device_model,
        NULLIF(raw.operator_name, '') AS carrier,
        NULLIF(raw.connection_type, '') AS connection_type,
        NULLIF(raw.mcc, '') AS mcc,
        NULLIF(raw.mnc, '') AS mnc,
        NULLIF(raw.installation_id, '') AS installation_id,
        NULLIF(raw.app_package_name, '') AS app_package_name,
        NULLIF(raw.google_aid, '') AS google_advertising_id,
        NULLIF(raw.ios_ifa, '') AS apple_advertising_id,
        COALESCE(NULLIF(raw.google_aid, ''), NULLIF(raw.ios_ifa, '')) AS advertising_id,
        NULLIF(raw.device_ipv6, '') AS device_ipv6,
        NULLIF(raw.ios_ifv, '') AS ios_ifv,
        NULLIF(raw.original_device_model, '') AS original_device_model,
        NULLIF(raw.windows_aid, '') AS windows_aid,
        NULLIF(raw.app_build_number, '') AS app_build_number
    FROM {{ raw }} AS raw
),
parsed AS (
    SELECT
        *,
        CASE WHEN raw_event_json IS NULL THEN JSON '{}'
             WHEN json_valid(raw_event_json) THEN CAST(raw_event_json AS JSON) END AS event_properties,
        'appmetrica' AS source,
        CAST($partition_date AS DATE) AS partition_date,
        unix_seconds_utc(event_seconds) AS event_time,
        unix_seconds_utc(event_seconds) AS client_event_time,  -- AppMetrica's event time is the device's
        unix_seconds_utc(receive_seconds) AS server_upload_time,
        unix_seconds_utc(receive_seconds) AS event_receive_time,
        CASE lower(os_name) WHEN 'android' THEN 'Android' WHEN 'ios' THEN 'iOS' WHEN 'windows' THEN 'Windows'
             ELSE os_name END AS platform,
        row_number() OVER (
            PARTITION BY raw_application_id, device_id, raw_event_timestamp, event_type, raw_event_json
            ORDER BY raw_receive_timestamp, raw_session_id, line_number
        ) AS occurrence
    FROM fields
),
typed AS (
    SELECT *, {{ typed_columns(typed_fields) }}
    FROM parsed
)
SELECT
    * EXCLUDE (json_problem, raw_application_id, raw_event_timestamp, raw_receive_timestamp, raw_event_json,
               event_seconds, receive_seconds, raw_session_id, occurrence, {{ raw_field_columns(typed_fields) }}),
    {{ field_checks(typed_fields) }},
    CAST(CAST(md5(concat_ws('|', raw_application_id, device_id, raw_event_timestamp, event_type,
                            COALESCE(raw_event_json, ''), occurrence)) AS UUID) AS VARCHAR) AS uuid,
    COALESCE(user_id, 'device:' || device_id) AS user_key,
    CAST(event_time + INTERVAL 3 HOUR AS DATE) AS event_date,  -- Moscow is UTC+3 all year
    CASE
        WHEN json_problem IS NOT NULL THEN json_problem
        WHEN event_type IS NULL AND device_id IS NULL AND raw_event_timestamp IS NULL
            THEN 'not a JSON object with event fields'
        WHEN event_type IS NULL THEN 'missing event_name'
        WHEN device_id IS NULL THEN 'missing appmetrica_device_id'
        WHEN NOT regexp_full_match(device_id, '[0-9]+') OR TRY_CAST(device_id AS UBIGINT) IS NULL
            THEN 'appmetrica_device_id is not a uint64: ' || device_id
        WHEN raw_event_timestamp IS NULL THEN 'missing event_timestamp'
        WHEN event_time IS NULL THEN 'event_timestamp is not a unix time: ' || raw_event_timestamp
        WHEN raw_receive_timestamp IS NULL THEN 'missing event_receive_timestamp'
        WHEN server_upload_time IS NULL
            THEN 'event_receive_timestamp is not a unix time: ' || raw_receive_timestamp
        WHEN event_properties IS NULL THEN 'event_json is not valid JSON'
    END AS problem
FROM typed
