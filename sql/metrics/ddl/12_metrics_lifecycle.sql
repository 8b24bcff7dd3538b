CREATE TABLE IF NOT EXISTS metrics_lifecycle (
    metric_date        DATE   NOT NULL,
    active_users       BIGINT NOT NULL, -- new + returning + resurrecting (= DAU)
    new_users          BIGINT NOT NULL, -- first active day ever
    returning_users    BIGINT NOT NULL, -- active the day before too
    resurrecting_users BIGINT NOT NULL, -- seen before, not active the day before
    dormant_users      BIGINT NOT NULL, -- active the day before, not on metric_date
    quick_ratio        DOUBLE           -- (new + resurrecting) / dormant
)
