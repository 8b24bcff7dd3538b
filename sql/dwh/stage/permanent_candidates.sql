-- Per user, the value each permanent column would take from the events of {{ snapshots }} alone: the newest
-- (`keep: latest`) or oldest (`keep: first`) non-NULL value, events ordered by (event_time, uuid).
-- `<column>__from` names the event as '<event_time, microseconds>|<uuid>', a text that sorts like (event_time, uuid).
-- Users repeat the same values on most events, so events are first grouped by (user, values) with the first and
-- last event of each group; the per-column choice then runs over those few groups.
CREATE OR REPLACE TEMP TABLE {{ target }} AS
WITH value_groups AS (
    SELECT
        user_key
        {%- for column, _, _ in columns %}, "{{ column }}"{% endfor %},
        min((event_time, uuid)) AS first_event,
        max((event_time, uuid)) AS last_event
    FROM {{ snapshots }}
    GROUP BY user_key{% for column, _, _ in columns %}, "{{ column }}"{% endfor %}
),
chosen AS (
    SELECT
        user_key
        {%- for column, _, keep in columns %},
        {% if keep == 'latest' -%}
        max((last_event[1], last_event[2], "{{ column }}"))
        {%- else -%}
        min((first_event[1], first_event[2], "{{ column }}"))
        {%- endif %} FILTER (WHERE "{{ column }}" IS NOT NULL) AS "{{ column }}"
        {%- endfor %}
    FROM value_groups
    GROUP BY user_key
)
SELECT
    user_key
    {%- for column, _, _ in columns %},
    "{{ column }}"[3] AS "{{ column }}",
    strftime("{{ column }}"[1], '%Y-%m-%d %H:%M:%S.%f') || '|' || "{{ column }}"[2] AS "{{ column }}__from"
    {%- endfor %}
FROM chosen
