CREATE TABLE IF NOT EXISTS metrics_user_engagement (
    metric_date              DATE    NOT NULL,
    user_key                 VARCHAR NOT NULL, -- users active in metric_date - 29 .. metric_date
    events                   BIGINT  NOT NULL,
    active_days              BIGINT  NOT NULL, -- of the 30 days
    active_days_last_7       BIGINT  NOT NULL,
    sessions                 BIGINT  NOT NULL,
    days_since_last_activity BIGINT  NOT NULL, -- 0 = active on metric_date
    engagement_score         DOUBLE  NOT NULL, -- 0..1, see docs/metrics.md
    churn_risk               VARCHAR NOT NULL, -- 'low' / 'medium' / 'high' by the rule in docs/metrics.md
    churn_probability        DOUBLE,           -- model estimate of "inactive in the next 7 days"; NULL without enough history
    h00 DOUBLE NOT NULL, h01 DOUBLE NOT NULL, h02 DOUBLE NOT NULL, h03 DOUBLE NOT NULL, -- share of the user's
    h04 DOUBLE NOT NULL, h05 DOUBLE NOT NULL, h06 DOUBLE NOT NULL, h07 DOUBLE NOT NULL, -- events in each Moscow
    h08 DOUBLE NOT NULL, h09 DOUBLE NOT NULL, h10 DOUBLE NOT NULL, h11 DOUBLE NOT NULL, -- hour of day (sum = 1)
    h12 DOUBLE NOT NULL, h13 DOUBLE NOT NULL, h14 DOUBLE NOT NULL, h15 DOUBLE NOT NULL,
    h16 DOUBLE NOT NULL, h17 DOUBLE NOT NULL, h18 DOUBLE NOT NULL, h19 DOUBLE NOT NULL,
    h20 DOUBLE NOT NULL, h21 DOUBLE NOT NULL, h22 DOUBLE NOT NULL, h23 DOUBLE NOT NULL
)
