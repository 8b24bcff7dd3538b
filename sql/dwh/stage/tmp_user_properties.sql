-- Rows of tmp_user_properties from {{ records }}: the bag as sent, and how much of it the mappings cover.
-- (One list_contains per mapped key is several times faster than intersecting lists.)
SELECT
    uuid,
    source,
    partition_date,
    user_key,
    event_time,
    user_properties,
    property_count = mapped_count AS migrated,
    property_count,
    mapped_count
FROM (
    SELECT
        uuid, source, partition_date, user_key, event_time, user_properties,
        CAST(len(property_keys) AS INTEGER) AS property_count,
        CAST(CASE source
            {%- for source, keys in mapped_keys.items() %}
            WHEN '{{ source }}' THEN {% for key in keys %}list_contains(property_keys, {{ key }})::INTEGER + {% endfor %}0
            {%- endfor %}
            END AS INTEGER) AS mapped_count
    FROM (
        SELECT
            uuid, source, partition_date, user_key, event_time, user_properties,
            COALESCE(json_keys(user_properties), CAST([] AS VARCHAR[])) AS property_keys  -- [] unless an object
        FROM {{ records }}
    )
)
