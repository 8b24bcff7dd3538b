-- The values a warehouse would reject, found before any bulk write, the same for every source and target: a NUL
-- character in text (PostgreSQL refuses it in text and JSON), a non-finite number (NaN / Infinity, which DuckDB's
-- JSON reader accepts and PostgreSQL's and BigQuery's JSON do not) and an integer beyond int64 / uint64 inside a
-- JSON document (BigQuery's JSON refuses it; others would round it). Records holding one are quarantined:
-- `problem` = '<what> in <column>: <where and the value>'.
-- text_columns, double_columns, json_columns: the columns of dwh_records the targets receive; scope: which records
-- (all, or those of the files just read again line by line).
-- A cheap scan picks the suspects; json_tree() then walks only their documents, so a string that merely reads
-- "NaN" or a long digit string in quotes is no problem.
CREATE OR REPLACE TEMP TABLE dwh_value_problems AS
SELECT
    rowid AS record,
    CASE
        {%- for column in text_columns %}
        WHEN contains({{ column.sql }}, chr(0)) THEN 'NUL character in {{ column.name }}: at position '
            || strpos({{ column.sql }}, chr(0))
        {%- endfor %}
        {%- for column in double_columns %}
        WHEN NOT isfinite({{ column.sql }}) THEN 'non-finite number in {{ column.name }}: ' || {{ column.sql }}
        {%- endfor %}
    END AS problem
FROM dwh_records
WHERE problem IS NULL AND {{ scope }} AND (
    {%- for column in text_columns %}
    contains({{ column.sql }}, chr(0)) OR
    {%- endfor %}
    {%- for column in double_columns %}
    NOT isfinite({{ column.sql }}) OR
    {%- endfor %}
    false
);

{% if json_columns %}
INSERT INTO dwh_value_problems
SELECT record, min(problem)
FROM (
    SELECT
        suspect.record,
        CASE
            WHEN node.type = 'DOUBLE' AND NOT isfinite(TRY_CAST(node.atom AS DOUBLE))
                THEN 'non-finite number in ' || suspect.field || ': ' || node.fullkey || ' = ' || node.atom
            WHEN node.type = 'DOUBLE' AND regexp_full_match(node.atom, '-?[0-9]+')
                THEN 'integer beyond int64/uint64 in ' || suspect.field || ': ' || node.fullkey || ' = ' || node.atom
            WHEN contains(node.key, chr(0))
                THEN 'NUL character in ' || suspect.field || ': in a key under ' || node.path
            WHEN node.type = 'VARCHAR' AND contains(node.value ->> '$', chr(0))
                THEN 'NUL character in ' || suspect.field || ': ' || node.fullkey
        END AS problem
    FROM (
        {%- for column in json_columns %}
        SELECT rowid AS record, '{{ column.name }}' AS field, CAST({{ column.sql }} AS VARCHAR) AS document
        FROM dwh_records
        WHERE problem IS NULL AND {{ scope }}
          AND regexp_matches(CAST({{ column.sql }} AS VARCHAR), '{{ suspect_pattern }}')
        {% if not loop.last %}UNION ALL{% endif %}
        {%- endfor %}
    ) AS suspect, json_tree(suspect.document) AS node
)
WHERE problem IS NOT NULL
GROUP BY record;
{% endif %}

UPDATE dwh_records
SET problem = found.problem
FROM (SELECT record, min(problem) AS problem FROM dwh_value_problems WHERE problem IS NOT NULL GROUP BY record) AS found
WHERE dwh_records.rowid = found.record;
