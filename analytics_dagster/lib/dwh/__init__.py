"""The DWH ETL: one pass over a day's raw Amplitude / AppMetrica events into the eight warehouse tables.

Plain Python and SQL, no Dagster: :mod:`.etl` (the run and its rules), :mod:`.staging` (raw records typed and
validated), :mod:`.day_load` (the steps after staging), :mod:`.results` (what a run reports), :mod:`.sources` (the
raw files as DuckDB relations, all at once), :mod:`.exact_lines` (one raw file read record by record, numbered),
:mod:`.quarantine` (malformed records), :mod:`.mappings` (field_mappings/), :mod:`.tables` (the DDL contract),
:mod:`.sqltext` (the SQL of ``sql/dwh/``), :mod:`.targets` (DuckDB, PostgreSQL, BigQuery) and :mod:`.checks`.
"""
