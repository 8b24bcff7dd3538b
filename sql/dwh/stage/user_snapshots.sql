-- The mapped user-property values of each event of {{ records }} (field_mappings/ rendered into expressions).
-- The bag is parsed once per event: every key any mapping reads is extracted in one json_extract_string call
-- (`bag`), which the expressions index. The views {{ prefix }}_permanent_snapshots and
-- {{ prefix }}_changeable_snapshots keep only the events that carry at least one of their values.
CREATE OR REPLACE TEMP TABLE {{ prefix }}_snapshots AS
SELECT
    user_key, source, partition_date, event_time, uuid
    {%- for column, expression in permanent %},
    {{ expression }} AS "permanent:{{ column }}"
    {%- endfor %}
    {%- for column, expression in changeable %},
    {{ expression }} AS "changeable:{{ column }}"
    {%- endfor %}
FROM (
    SELECT
        *,
        {% if bag_paths %}json_extract_string(user_properties, {{ bag_paths }}){% else %}CAST([] AS VARCHAR[]){% endif %} AS bag
    FROM {{ records }}
);

CREATE OR REPLACE TEMP VIEW {{ prefix }}_permanent_snapshots AS
SELECT
    user_key, source, partition_date, event_time, uuid
    {%- for column, _ in permanent %}, "permanent:{{ column }}" AS "{{ column }}"{% endfor %}
FROM {{ prefix }}_snapshots
WHERE {% for column, _ in permanent %}"permanent:{{ column }}" IS NOT NULL{% if not loop.last %} OR {% endif %}{% else %}FALSE{% endfor %};

CREATE OR REPLACE TEMP VIEW {{ prefix }}_changeable_snapshots AS
SELECT
    user_key, source, partition_date, event_time, uuid
    {%- for column, _ in changeable %}, "changeable:{{ column }}" AS "{{ column }}"{% endfor %}
FROM {{ prefix }}_snapshots
WHERE {% for column, _ in changeable %}"changeable:{{ column }}" IS NOT NULL{% if not loop.last %} OR {% endif %}{% else %}FALSE{% endfor %};
