-- Keys of the partition's rows that occur more than once in the whole table (NULL key parts compare equal):
-- per-event tables across all partitions (an event belongs to one partition only), user tables for the
-- partition's users, per-partition aggregates within the partition.
SELECT count(*) AS n
FROM (
    SELECT {{ key | join(', ') }}
    FROM {{ table }}
{%- if table in event_tables %}
    WHERE uuid IN (SELECT uuid FROM {{ table }} WHERE partition_date = CAST($partition_date AS DATE))
{%- elif table in user_tables %}
    WHERE user_key IN (SELECT user_key FROM events_part WHERE partition_date = CAST($partition_date AS DATE))
{%- else %}
    WHERE partition_date = CAST($partition_date AS DATE)
{%- endif %}
    GROUP BY {{ key | join(', ') }}
    HAVING count(*) > 1
) AS duplicated
