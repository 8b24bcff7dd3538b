-- session_clusters: one row per cluster of the day's replay sessions (cluster -1 = HDBSCAN's unclustered sessions).
CREATE TABLE IF NOT EXISTS session_clusters (
    partition_date            DATE    NOT NULL,
    cluster_id                INTEGER NOT NULL, -- 0 = the largest cluster
    size                      INTEGER NOT NULL, -- sessions in it
    share                     DOUBLE  NOT NULL, -- of the day's replay sessions
    top_terms                 VARCHAR NOT NULL, -- JSON array of its most distinctive terms
    representative_replay_ids VARCHAR NOT NULL, -- JSON array, nearest the cluster's centre first
    silhouette                DOUBLE,           -- mean silhouette (cosine) of its members; NULL when undefined
    method                    VARCHAR NOT NULL  -- 'kmeans' or 'hdbscan'
);
