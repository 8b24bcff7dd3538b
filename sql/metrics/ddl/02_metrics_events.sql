-- Events that make a user "active": every counted event except the bookkeeping ones a client sends without any
-- user action (identify calls and experiment exposures, web and mobile names).
CREATE OR REPLACE VIEW metrics_events AS
SELECT *
FROM metrics_counted_events
WHERE event_type NOT IN ('$identify', '$groupidentify', '$exposure', 'experiment_exposure')
