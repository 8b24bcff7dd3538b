CREATE TABLE IF NOT EXISTS metrics_top_events (
    metric_date  DATE    NOT NULL,
    dimension    VARCHAR NOT NULL, -- as in metrics_activity
    segment      VARCHAR NOT NULL,
    event_rank   INTEGER NOT NULL, -- 1 = most frequent event type in the segment that day
    event_type   VARCHAR NOT NULL,
    event_count  BIGINT  NOT NULL,
    unique_users BIGINT  NOT NULL
)
