-- Each touched user's latest changeable_user_properties row (per source) from partitions before this one.
SELECT {{ columns | join(', ') }}
FROM (
    SELECT
        c.*,
        row_number() OVER (PARTITION BY c.user_key, c.source ORDER BY c.valid_from DESC, c.uuid DESC) AS position
    FROM changeable_user_properties AS c
    WHERE c.partition_date < CAST($partition_date AS DATE)
      AND c.user_key IN (SELECT user_key FROM dwh_stage_users)
) AS ranked
WHERE position = 1
