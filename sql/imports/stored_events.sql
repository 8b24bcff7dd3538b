-- Imported events of a landing day (import_stage_uuids: the uuids derived from its event ids) that events_part
-- already holds, and the upload day (partition) holding each.
SELECT e.uuid, e.partition_date
FROM events_part AS e
JOIN import_stage_uuids AS s ON s.uuid = e.uuid
WHERE e.source = 'import'
