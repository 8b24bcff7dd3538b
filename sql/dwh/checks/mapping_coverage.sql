-- User-property keys in the partition's bags, and how many of them field_mappings/ names.
SELECT
    source,
    CAST(COALESCE(sum(property_count), 0) AS BIGINT) AS property_keys,
    CAST(COALESCE(sum(mapped_count), 0) AS BIGINT) AS mapped_keys,
    CAST(COALESCE(sum(CASE WHEN migrated THEN 1 ELSE 0 END), 0) AS BIGINT) AS migrated_bags,
    count(*) AS bags
FROM tmp_user_properties
WHERE partition_date = CAST($partition_date AS DATE)
GROUP BY source
ORDER BY source
