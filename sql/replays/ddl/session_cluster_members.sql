-- session_cluster_members: one row per replay session of the day: its cluster and the text it was clustered on.
CREATE TABLE IF NOT EXISTS session_cluster_members (
    partition_date      DATE    NOT NULL,
    replay_id           VARCHAR NOT NULL,
    cluster_id          INTEGER NOT NULL,
    silhouette          DOUBLE,           -- this session's silhouette; NULL when undefined
    representative_rank INTEGER,          -- 1 = nearest its cluster's centre; NULL when not a representative
    text_source         VARCHAR NOT NULL, -- where its screen text came from: vision, ocr, page_text or none
    event_outline       VARCHAR NOT NULL, -- its events, one line each, repeats folded
    screen_text         VARCHAR NOT NULL  -- what its screenshots say ('' without screenshots)
);
