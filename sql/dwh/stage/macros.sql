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
