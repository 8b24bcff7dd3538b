-- Rows of user_locations from {{ records }}: where each user was seen in each partition.
SELECT
    partition_date,
    source,
    user_key,
    country,
    region,
    city,
    min(event_time) AS first_event_time,
    max(event_time) AS last_event_time,
    count(*) AS events
FROM {{ records }}
GROUP BY partition_date, source, user_key, country, region, city
