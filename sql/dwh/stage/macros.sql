-- Helpers for the stage queries (DuckDB only: the raw data is always parsed by DuckDB, whatever the warehouse).

-- A UTC TIMESTAMP from '2025-07-01 17:18:45.118000', ISO '2025-07-01T17:18:45.118Z' or a text with an explicit
-- offset ('2025-07-01T20:18:45+03:00'); NULL when the text is no timestamp. Only texts with an offset (a '+' or
-- '-' after the seconds) take the TIMESTAMPTZ cast, which is some 30 times slower than the plain one.
CREATE OR REPLACE TEMP MACRO utc_timestamp(text) AS
    CASE WHEN contains(substr(text, 20), '+') OR contains(substr(text, 20), '-')
         THEN timezone('UTC', TRY_CAST(text AS TIMESTAMPTZ))
         ELSE TRY_CAST(text AS TIMESTAMP) END;

-- A UTC TIMESTAMP from unix seconds; NULL outside years 1970..9999 instead of an overflow error.
CREATE OR REPLACE TEMP MACRO unix_seconds_utc(seconds) AS
    CASE WHEN seconds BETWEEN 0 AND 253402300799 THEN make_timestamp(seconds * 1000000) END;

-- Typed values of a field's text, NULL when the text does not fit (field_problem() says why). An integer must be
-- one: TRY_CAST alone would round '12.5' to 13, a changed value nobody asked for, so the integer must equal the
-- number the text reads as ('12', '12.0', '1e3' pass; '12.5' does not). Cheaper than a regular expression.
CREATE OR REPLACE TEMP MACRO int_of(text) AS
    CASE WHEN TRY_CAST(text AS BIGINT) = TRY_CAST(text AS DOUBLE) THEN TRY_CAST(text AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO finite_of(text) AS
    CASE WHEN isfinite(TRY_CAST(text AS DOUBLE)) THEN TRY_CAST(text AS DOUBLE) END;

-- Why a non-empty text did not fit its type (`kind`: integer, number, boolean, timestamp).
CREATE OR REPLACE TEMP MACRO field_problem(text, kind) AS
    CASE
        WHEN kind = 'integer' AND regexp_full_match(text, '\s*[+-]?[0-9]+\s*') THEN 'integer out of range'
        WHEN kind = 'integer' THEN 'not an integer'
        WHEN kind = 'number' AND TRY_CAST(text AS DOUBLE) IS NOT NULL THEN 'not a finite number'
        WHEN kind = 'number' THEN 'not a number'
        ELSE 'not a ' || kind
    END;
