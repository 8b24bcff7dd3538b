-- dwh_partition_loads: which raw upload days are in the warehouse, one row per (partition_date, source) whose raw
-- day was loaded. Written in the same transaction as the day's rows, so it never claims a load that did not commit;
-- the state of metric days (analytics_dagster/lib/day_state.py) is derived from it.
CREATE TABLE IF NOT EXISTS dwh_partition_loads (
    partition_date      DATE      NOT NULL, -- Moscow upload day (the DWH partition)
    source              VARCHAR   NOT NULL, -- 'amplitude' or 'appmetrica'
    origin              VARCHAR   NOT NULL, -- where the raw day came from: export_api, logs_api, s3_export, demo
    raw_created_at      VARCHAR   NOT NULL, -- the raw manifest's created_at: which version of the raw day was loaded
    records             BIGINT    NOT NULL, -- records read from the raw day
    loaded              BIGINT    NOT NULL, -- events of the source stored under this partition
    loaded_at           TIMESTAMP NOT NULL  -- UTC
);
