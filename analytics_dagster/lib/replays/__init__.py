"""Session replay AI: replay links, screenshots, session texts, clustering, LLM summaries and the daily report.

Plain Python with no Dagster in it; the assets in ``analytics_dagster.defs.replays`` wire these modules together.
"""
