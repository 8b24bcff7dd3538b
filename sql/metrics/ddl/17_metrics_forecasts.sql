CREATE TABLE IF NOT EXISTS metrics_forecasts (
    metric_date         DATE    NOT NULL, -- forecast origin: the last day of history
    series              VARCHAR NOT NULL, -- 'dau' or 'events:<event type>'
    forecast_date       DATE    NOT NULL,
    horizon_days        INTEGER NOT NULL, -- 1..30
    forecast            DOUBLE  NOT NULL,
    lower_95            DOUBLE  NOT NULL, -- 95% prediction interval
    upper_95            DOUBLE  NOT NULL,
    method              VARCHAR NOT NULL, -- 'holt_winters', 'seasonal_naive' or 'naive'
    history_days        INTEGER NOT NULL,
    mase_holt_winters   DOUBLE,           -- backtest on the last 14 days of history (NULL when too short)
    mase_seasonal_naive DOUBLE
)
