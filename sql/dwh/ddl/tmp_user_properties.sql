-- tmp_user_properties: the raw user-property bag of each event, as JSON, with a flag telling whether its values
-- were migrated into permanent_user_properties / changeable_user_properties by the mappings.
CREATE TABLE IF NOT EXISTS tmp_user_properties (
    uuid            VARCHAR   NOT NULL, -- events_part.uuid
    source          VARCHAR   NOT NULL,
    partition_date  DATE      NOT NULL,
    user_key        VARCHAR   NOT NULL,
    event_time      TIMESTAMP NOT NULL, -- UTC
    user_properties JSON,               -- Amplitude `user_properties` (incl. `[Experiment] <flag>`)
    migrated        BOOLEAN   NOT NULL  -- TRUE when every property in the bag is covered by field_mappings/
);
