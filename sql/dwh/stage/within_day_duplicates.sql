-- Drops all but one record of each uuid within the day (Amplitude exports exact duplicates; a retried upload can
-- repeat an event). The kept record is chosen by content, never by read order, so every run keeps the same one.
DELETE FROM dwh_records
WHERE rowid IN (
    SELECT rowid
    FROM (
        SELECT
            rowid,
            row_number() OVER (
                PARTITION BY uuid
                ORDER BY server_upload_time, raw_file, event_time, event_type, md5(CAST(event_properties AS VARCHAR)),
                         md5(CAST(user_properties AS VARCHAR)), line_number
            ) AS copy_number
        FROM dwh_records
        WHERE uuid IN (SELECT uuid FROM dwh_records GROUP BY uuid HAVING count(*) > 1)
    )
    WHERE copy_number > 1
)
