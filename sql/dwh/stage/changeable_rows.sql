-- History rows of one partition from its events (dwh_partition_changeable) and each user's latest row before it
-- (dwh_changeable_prior): a row wherever a user's values, as reported by a source, differ from the previous
-- event's. Events not newer than the prior row (late uploads) are skipped, so the history never rewinds.
INSERT INTO dwh_out_changeable BY NAME
WITH prior AS (
    SELECT p.*
    FROM dwh_changeable_prior AS p
    WHERE EXISTS (SELECT 1 FROM dwh_partition_changeable AS s WHERE s.user_key = p.user_key AND s.source = p.source)
),
candidates AS (
    SELECT s.user_key, s.source, s.event_time AS valid_from, s.uuid, s.partition_date,
           {% for column, _, _ in columns %}s."{{ column }}", {% endfor %}FALSE AS is_prior
    FROM dwh_partition_changeable AS s
    LEFT JOIN prior AS p ON p.user_key = s.user_key AND p.source = s.source
    WHERE p.user_key IS NULL OR (s.event_time, s.uuid) > (p.valid_from, p.uuid)
    UNION ALL
    SELECT user_key, source, valid_from, uuid, partition_date,
           {% for column, _, _ in columns %}"{{ column }}", {% endfor %}TRUE AS is_prior
    FROM prior
),
ordered AS (
    SELECT
        *,
        lag(uuid) OVER previous AS previous_uuid
        {%- for column, _, _ in columns %},
        lag("{{ column }}") OVER previous AS "previous_{{ column }}"
        {%- endfor %}
    FROM candidates
    WINDOW previous AS (PARTITION BY user_key, source ORDER BY valid_from, uuid)
)
SELECT user_key, source, valid_from, uuid, partition_date{% for column, _, _ in columns %}, "{{ column }}"{% endfor %}
FROM ordered
WHERE NOT is_prior
  AND (previous_uuid IS NULL{% for column, _, _ in columns %} OR "{{ column }}" IS DISTINCT FROM "previous_{{ column }}"{% endfor %});

-- The latest row per (user_key, source) after this partition: the prior of the next one.
CREATE OR REPLACE TEMP TABLE dwh_changeable_prior AS
SELECT * EXCLUDE (row_number)
FROM (
    SELECT *, row_number() OVER (PARTITION BY user_key, source ORDER BY valid_from DESC, uuid DESC) AS row_number
    FROM (
        SELECT * FROM dwh_changeable_prior
        UNION ALL BY NAME
        SELECT * FROM dwh_out_changeable WHERE partition_date = $partition_date
    )
)
WHERE row_number = 1
