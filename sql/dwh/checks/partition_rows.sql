-- Rows the table holds for the partition (partitioned tables) or for the partition's users (user tables).
{%- if table == 'permanent_user_properties' %}
SELECT count(*) AS n
FROM permanent_user_properties
WHERE user_key IN (SELECT user_key FROM events_part WHERE partition_date = CAST($partition_date AS DATE))
{%- elif table == 'changeable_user_properties' %}
-- History rows valid for the partition's users: rows of this partition or earlier ones (a user whose values did not
-- change keeps his earlier row).
SELECT count(DISTINCT user_key) AS n
FROM changeable_user_properties
WHERE partition_date <= CAST($partition_date AS DATE)
  AND user_key IN (SELECT user_key FROM events_part WHERE partition_date = CAST($partition_date AS DATE))
{%- else %}
SELECT count(*) AS n FROM {{ table }} WHERE partition_date = CAST($partition_date AS DATE)
{%- endif %}
