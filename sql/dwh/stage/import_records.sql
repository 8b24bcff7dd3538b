-- Imported events (raw/import/<day>/*.jsonl.gz, written by analytics_dagster/lib/imports) -> dwh_records, one row
-- per raw line; `problem` says why a line cannot be loaded. {{ raw }} has every field as text (`properties` as JSON)
-- plus raw_file, line_number, raw_line and json_problem.
-- The import already validated each row: an invalid row arrives with its `problem`, the landing file it came from,
-- its line there and its text (`raw`), so the quarantine names the landing file's line. `uuid` is derived from the
-- team's event_id (the MD5 of 'import:' || event_id as a UUID), which is kept as insert_id. Times are UTC
-- ('YYYY-MM-DD HH:MM:SS.ffffff').
INSERT INTO dwh_records BY NAME
WITH parsed AS (
    SELECT
        raw.raw_file,
        COALESCE(TRY_CAST(raw.line AS BIGINT), raw.line_number) AS line_number,
        COALESCE(raw.raw, raw.raw_line) AS raw_line,
        raw.json_problem,
        raw.problem AS import_problem,
        raw.occurred_at AS raw_occurred_at,
        NULLIF(raw.uuid, '') AS uuid,
        'import' AS source,
        CAST($partition_date AS DATE) AS partition_date,
        NULLIF(raw.event_type, '') AS event_type,
        TRY_CAST(raw.occurred_at AS TIMESTAMP) AS event_time,
        TRY_CAST(raw.uploaded_at AS TIMESTAMP) AS server_upload_time,
        NULLIF(raw.user_id, '') AS user_id,
        NULLIF(raw.device_id, '') AS device_id,
        TRY_CAST(raw.session_id AS BIGINT) AS session_id,
        NULLIF(raw.event_id, '') AS insert_id,
        NULLIF(raw.platform, '') AS platform,
        TRY_CAST(json_extract_string(raw.properties, '$.revenue') AS DOUBLE) AS revenue,
        raw.properties AS event_properties
    FROM {{ raw }} AS raw
)
SELECT
    * EXCLUDE (json_problem, import_problem, raw_occurred_at),
    COALESCE(user_id, 'device:' || device_id) AS user_key,
    CAST(event_time + INTERVAL 3 HOUR AS DATE) AS event_date,  -- Moscow is UTC+3 all year
    CASE
        WHEN json_problem IS NOT NULL THEN json_problem
        WHEN import_problem IS NOT NULL THEN import_problem
        -- the import never publishes such rows; these keep a hand-placed raw file from breaking the load
        WHEN uuid IS NULL THEN 'missing uuid'
        WHEN event_type IS NULL THEN 'missing event_type'
        WHEN event_time IS NULL THEN 'occurred_at is not a timestamp: ' || COALESCE(raw_occurred_at, 'missing')
        WHEN user_id IS NULL AND device_id IS NULL THEN 'neither user_id nor device_id'
    END AS problem
FROM parsed
