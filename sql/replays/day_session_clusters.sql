SELECT * FROM session_clusters WHERE partition_date = $day ORDER BY cluster_id < 0, cluster_id
