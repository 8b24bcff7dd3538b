CREATE TABLE IF NOT EXISTS metrics_ab_tests (
    metric_date           DATE    NOT NULL, -- results as of this day (cumulative since the experiment started)
    experiment            VARCHAR NOT NULL, -- flag key
    metric                VARCHAR NOT NULL,
    metric_kind           VARCHAR NOT NULL, -- 'conversion' (two-proportion z-test) or 'mean' (Welch's t-test)
    variant               VARCHAR NOT NULL,
    is_control            BOOLEAN NOT NULL,
    exposures             BIGINT  NOT NULL, -- users assigned to the variant (first exposure)
    conversions           BIGINT  NOT NULL, -- exposed users with at least one metric event after exposure
    metric_value          DOUBLE,           -- conversion rate, or mean value per exposed user
    metric_variance       DOUBLE,           -- sample variance of the per-user value
    absolute_lift         DOUBLE,           -- treatment - control (NULL on the control row)
    absolute_lift_ci_low  DOUBLE,
    absolute_lift_ci_high DOUBLE,
    relative_lift         DOUBLE,           -- absolute_lift / control value
    relative_lift_ci_low  DOUBLE,
    relative_lift_ci_high DOUBLE,
    p_value               DOUBLE,           -- two-sided
    p_value_holm          DOUBLE,           -- Holm-adjusted across the experiment's comparisons
    significant           BOOLEAN,          -- p_value_holm < alpha (and enough data, no SRM)
    srm_p_value           DOUBLE,           -- chi-square of exposures against the planned split
    srm_detected          BOOLEAN NOT NULL, -- srm_p_value < 0.001
    enough_data           BOOLEAN NOT NULL, -- the experiment's minimum-data rule holds
    recommendation        VARCHAR NOT NULL, -- what to do about this variant on this metric
    experiment_recommendation VARCHAR NOT NULL -- what to do about the experiment as a whole
)
