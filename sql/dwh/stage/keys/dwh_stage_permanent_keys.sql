-- The permanent_user_properties rows this run replaces: users with candidates from this day, and rebuilt users
-- (whose rows disappear when none of their events is left).
SELECT user_key FROM dwh_permanent_candidates
UNION
SELECT user_key FROM dwh_stage_rebuilt_users
