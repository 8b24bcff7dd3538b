"""Events imported from files: the landing zone, parsing and validation of CSV / NDJSON / Parquet rows, and the
preparation of a landing day for the raw store (docs/import.md). Plain Python and DuckDB, no Dagster."""
