-- The users whose merged rows this run writes (or whose values all vanished with a changed partition).
DELETE FROM permanent_user_properties WHERE user_key IN (SELECT user_key FROM dwh_stage_permanent_keys);
