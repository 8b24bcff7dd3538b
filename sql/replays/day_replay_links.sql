SELECT * FROM replay_links WHERE partition_date = $day ORDER BY replay_id
