-- Rows of mobile_devices from {{ records }}: each mobile device (platform other than 'Web') of each partition, with
-- each attribute as last reported there (latest event_time, then uuid: the choice never depends on read order).
SELECT
    partition_date,
    source,
    device_id,
    arg_max(user_key, (event_time, uuid)) AS user_key,
    arg_max(user_id, (event_time, uuid)) AS user_id,
    arg_max(installation_id, (event_time, uuid)) AS installation_id,
    arg_max(platform, (event_time, uuid)) AS platform,
    arg_max(os_name, (event_time, uuid)) AS os_name,
    arg_max(os_version, (event_time, uuid)) AS os_version,
    arg_max(device_manufacturer, (event_time, uuid)) AS device_manufacturer,
    arg_max(device_model, (event_time, uuid)) AS device_model,
    arg_max(device_type, (event_time, uuid)) AS device_type,
    arg_max(language, (event_time, uuid)) AS language,
    arg_max(app_version, (event_time, uuid)) AS app_version,
    arg_max(carrier, (event_time, uuid)) AS carrier,
    arg_max(connection_type, (event_time, uuid)) AS connection_type,
    arg_max(advertising_id, (event_time, uuid)) AS advertising_id,
    min(event_time) AS first_event_time,
    max(event_time) AS last_event_time,
    count(*) AS events
FROM {{ records }}
WHERE platform IS NOT NULL AND platform <> 'Web' AND device_id IS NOT NULL
GROUP BY partition_date, source, device_id
