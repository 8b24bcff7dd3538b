-- The stored permanent_user_properties rows of the users this run touches.
SELECT *
FROM permanent_user_properties
WHERE user_key IN (SELECT user_key FROM dwh_stage_users)
