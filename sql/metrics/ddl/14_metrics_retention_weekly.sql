CREATE TABLE IF NOT EXISTS metrics_retention_weekly (
    metric_date            DATE    NOT NULL, -- figures as of this day
    cohort_type            VARCHAR NOT NULL, -- 'first_time' or 'recurring'
    cohort_start           DATE    NOT NULL, -- Monday of the cohort week (Moscow calendar)
    cohort_end             DATE    NOT NULL, -- Sunday of the cohort week
    cohort_size            BIGINT  NOT NULL,
    week_number            INTEGER NOT NULL, -- 0..4, and 5 = week 5 or later
    week_label             VARCHAR NOT NULL, -- 'Week 0' .. 'Week 4', 'Week 5+'
    is_complete            BOOLEAN NOT NULL, -- the week has ended by metric_date; figures are NULL otherwise
    retained_users         BIGINT,
    retention_rate         DOUBLE,
    overall_retention_rate DOUBLE            -- share of the cohort active in any later week (NULL until week 1 ends)
)
