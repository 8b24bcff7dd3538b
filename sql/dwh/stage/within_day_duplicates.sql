-- Drops all but one record of each uuid within the day (see uuid_copies.sql, run just before): exact duplicates
-- are deleted (counted as duplicates), conflicting versions are marked for the quarantine.
UPDATE dwh_records
SET problem = 'same uuid, different content: kept the copy in ' || copies.kept_file
    || COALESCE(' line ' || copies.kept_line, '')
FROM dwh_uuid_copies AS copies
WHERE dwh_records.rowid = copies.record AND copies.copy_number > 1 AND copies.content <> copies.kept_content;

DELETE FROM dwh_records
WHERE rowid IN (SELECT record FROM dwh_uuid_copies WHERE copy_number > 1 AND content = kept_content)
