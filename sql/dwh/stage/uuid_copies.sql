-- Every copy of a uuid that the day holds more than once (among the records that load), numbered: copy 1 is kept,
-- chosen by content, never by read order, so every run keeps the same one. `content` hashes everything the copy
-- would load (not where it was read from): a copy whose content equals the kept one's is an exact duplicate
-- (Amplitude exports those), any other is a conflicting version, quarantined with its reason.
CREATE OR REPLACE TEMP TABLE dwh_uuid_copies AS
WITH copies AS (
    SELECT
        rowid AS record,
        uuid,
        raw_file,
        line_number,
        hash(*COLUMNS(* EXCLUDE (raw_file, line_number, raw_line, raw_bytes, problem, field_problems))) AS content,
        row_number() OVER (
            PARTITION BY uuid
            ORDER BY server_upload_time, raw_file, event_time, event_type, md5(CAST(event_properties AS VARCHAR)),
                     md5(CAST(user_properties AS VARCHAR)), line_number
        ) AS copy_number
    FROM dwh_records
    WHERE problem IS NULL
      AND uuid IN (SELECT uuid FROM dwh_records WHERE problem IS NULL GROUP BY uuid HAVING count(*) > 1)
)
SELECT
    copies.*,
    first_value(content) OVER by_uuid AS kept_content,
    first_value(raw_file) OVER by_uuid AS kept_file,
    first_value(line_number) OVER by_uuid AS kept_line
FROM copies
WINDOW by_uuid AS (PARTITION BY uuid ORDER BY copy_number)
