-- Rows of permanent_user_properties: the candidates of this partition merged column by column into the users'
-- stored rows (dwh_existing_permanent), the event named by value_events deciding which value wins; users rebuilt
-- from their whole history (dwh_rebuilt_permanent) replace their stored rows instead.
CREATE OR REPLACE TEMP TABLE dwh_out_permanent AS
WITH stored AS (
    SELECT
        user_key
        {%- for column, _, _ in columns %},
        "{{ column }}",
        json_extract_string(value_events, '$."{{ column }}"') AS "{{ column }}__from"
        {%- endfor %}
    FROM dwh_existing_permanent
),
merged AS (
    SELECT
        n.user_key
        {%- for column, _, keep in columns %},
        CASE WHEN n."{{ column }}__from" IS NOT NULL
                  AND (o."{{ column }}__from" IS NULL OR n."{{ column }}__from" {{ '>' if keep == 'latest' else '<' }} o."{{ column }}__from")
             THEN n."{{ column }}" ELSE o."{{ column }}" END AS "{{ column }}",
        CASE WHEN n."{{ column }}__from" IS NOT NULL
                  AND (o."{{ column }}__from" IS NULL OR n."{{ column }}__from" {{ '>' if keep == 'latest' else '<' }} o."{{ column }}__from")
             THEN n."{{ column }}__from" ELSE o."{{ column }}__from" END AS "{{ column }}__from"
        {%- endfor %}
    FROM dwh_permanent_candidates AS n
    LEFT JOIN stored AS o USING (user_key)
    WHERE n.user_key NOT IN (SELECT user_key FROM dwh_rebuilt_permanent)
    UNION ALL BY NAME
    SELECT * FROM dwh_rebuilt_permanent
)
SELECT
    user_key
    {%- for column, _, _ in columns %},
    "{{ column }}"
    {%- endfor %},
    greatest({% for column, _, _ in columns %}CAST(substr("{{ column }}__from", 1, 26) AS TIMESTAMP){% if not loop.last %}, {% endif %}{% endfor %}) AS updated_at,
    json_object({% for column, _, _ in columns %}'{{ column }}', "{{ column }}__from"{% if not loop.last %}, {% endif %}{% endfor %}) AS value_events
FROM merged
