-- Stored events with the fields the mappings and the per-partition tables read, for recomputing what depends on
-- them. Events this run takes over (dwh_stage_claimed) are left out: they belong to this partition from now on.
SELECT {{ columns | join(', ') }}
FROM events_part AS e
JOIN technical_data AS t ON t.partition_date = e.partition_date AND t.uuid = e.uuid
LEFT JOIN tmp_user_properties AS u ON u.partition_date = e.partition_date AND u.uuid = e.uuid
WHERE e.uuid NOT IN (SELECT uuid FROM dwh_stage_claimed)
{%- if scope == 'partition' %}
  AND e.partition_date = CAST($stored_partition AS DATE)
  AND e.user_key IN (SELECT user_key FROM dwh_stage_users)
{%- elif scope == 'claimed_partitions' %}
  AND e.partition_date IN (SELECT partition_date FROM dwh_stage_claimed)
{%- elif scope == 'rebuilt_users' %}
  AND e.partition_date <> CAST($partition_date AS DATE)
  AND e.user_key IN (SELECT user_key FROM dwh_stage_rebuilt_users)
{%- endif %}
