CREATE TABLE IF NOT EXISTS metrics_retention_daily (
    metric_date               DATE    NOT NULL, -- figures as of this day
    cohort_type               VARCHAR NOT NULL, -- 'first_time' (first active day) or 'recurring' (any active day)
    cohort_date               DATE    NOT NULL,
    cohort_size               BIGINT  NOT NULL,
    day_number                INTEGER NOT NULL, -- N of D0..D30, in Moscow calendar days
    is_complete               BOOLEAN NOT NULL, -- cohort_date + N <= metric_date; figures are NULL otherwise
    returned_on_day           BIGINT,           -- active on cohort_date + N
    returned_on_or_after_day  BIGINT,           -- active on cohort_date + N or any later day up to metric_date
    retention_on_day          DOUBLE,
    retention_on_or_after_day DOUBLE
)
