-- tmp_user_properties: the raw user-property bag of each event (key: uuid), as JSON, with a flag telling whether its
-- values were migrated into permanent_user_properties / changeable_user_properties by the mappings. Properties no
-- mapping names live only here: nothing the source sends is dropped.
CREATE TABLE IF NOT EXISTS tmp_user_properties (
    uuid            VARCHAR   NOT NULL, -- events_part.uuid
    source          VARCHAR   NOT NULL,
    partition_date  DATE      NOT NULL,
    user_key        VARCHAR   NOT NULL,
    event_time      TIMESTAMP NOT NULL, -- UTC
    user_properties JSON,               -- Amplitude `user_properties` (incl. `[Experiment] <flag>`); NULL for AppMetrica,
                                        -- whose events carry no user-property bag
    migrated        BOOLEAN   NOT NULL, -- TRUE when every property in the bag is covered by field_mappings/
    property_count  INTEGER   NOT NULL, -- keys in the bag
    mapped_count    INTEGER   NOT NULL  -- keys in the bag that field_mappings/<source>.yaml names
);
