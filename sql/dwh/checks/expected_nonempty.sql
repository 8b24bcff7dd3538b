-- Whether the partition's events call for rows in the table: mobile_devices only has rows for mobile events.
SELECT count(*) AS n
FROM events_part
WHERE partition_date = CAST($partition_date AS DATE)
{%- if table == 'mobile_devices' %}
  AND platform IS NOT NULL AND platform <> 'Web' AND device_id IS NOT NULL
{%- endif %}
