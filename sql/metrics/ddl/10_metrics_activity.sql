CREATE TABLE IF NOT EXISTS metrics_activity (
    metric_date DATE    NOT NULL, -- the Moscow day the figures describe (the partition)
    dimension   VARCHAR NOT NULL, -- 'all', 'source' or 'platform'
    segment     VARCHAR NOT NULL, -- 'all'; by source 'Amplitude' / 'AppMetrica'; by platform 'Web' / 'Android' / 'iOS' / 'unknown'
    dau         BIGINT  NOT NULL, -- users active on metric_date
    wau         BIGINT  NOT NULL, -- users active on metric_date - 6 .. metric_date
    mau         BIGINT  NOT NULL, -- users active on metric_date - 29 .. metric_date
    new_users   BIGINT  NOT NULL, -- users whose first active day (anywhere) is metric_date, active in the segment
    events      BIGINT  NOT NULL, -- active events on metric_date
    stickiness  DOUBLE            -- dau / mau
)
