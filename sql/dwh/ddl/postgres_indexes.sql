-- PostgreSQL only (DuckDB prunes by zone maps, BigQuery partitions by partition_date). Every run deletes whole
-- partitions, so each partitioned table is indexed on partition_date (appends land at the index's right edge: cheap).
-- Events are looked up by uuid (equality only) to keep one row per event across partitions: a hash index, whose
-- upkeep costs COPY little more than half what a btree on random uuids does. Every index slows COPY, so there are
-- no others.
CREATE INDEX IF NOT EXISTS events_part_partition_date ON events_part (partition_date);
CREATE INDEX IF NOT EXISTS events_part_uuid ON events_part USING hash (uuid);
CREATE INDEX IF NOT EXISTS technical_data_partition_date ON technical_data (partition_date);
CREATE INDEX IF NOT EXISTS tmp_event_properties_partition_date ON tmp_event_properties (partition_date);
CREATE INDEX IF NOT EXISTS tmp_user_properties_partition_date ON tmp_user_properties (partition_date);
CREATE INDEX IF NOT EXISTS mobile_devices_partition_date ON mobile_devices (partition_date);
CREATE INDEX IF NOT EXISTS user_locations_partition_date ON user_locations (partition_date);
CREATE INDEX IF NOT EXISTS permanent_user_properties_user_key ON permanent_user_properties (user_key);
CREATE INDEX IF NOT EXISTS changeable_user_properties_user_key ON changeable_user_properties (user_key);
CREATE INDEX IF NOT EXISTS changeable_user_properties_partition_date ON changeable_user_properties (partition_date);
