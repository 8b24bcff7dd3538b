SELECT * FROM session_cluster_members WHERE partition_date = $day ORDER BY cluster_id, representative_rank, replay_id
