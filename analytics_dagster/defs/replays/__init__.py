"""Session replay AI stage: replay links, screenshots, session clusters, cluster summaries and the daily report."""
