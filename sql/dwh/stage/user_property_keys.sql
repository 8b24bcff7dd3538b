-- How many events of a source carry each user-property key (for the unmapped-keys metadata). Most events of a user
-- repeat the same bag, so keys are listed once per distinct bag and weighted by its events.
SELECT key, sum(events) AS events
FROM (
    SELECT unnest(json_keys(user_properties)) AS key, events  -- no keys unless the bag is an object
    FROM (
        SELECT user_properties, count(*) AS events
        FROM dwh_records
        WHERE source = $source AND user_properties IS NOT NULL
        GROUP BY user_properties
    )
)
GROUP BY key
