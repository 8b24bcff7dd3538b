from __future__ import annotations

import datetime as dt

from analytics_dagster.lib.replays.report import (
    FailedReplay,
    ReplayReport,
    ReportCluster,
    ReportSession,
    render_html,
    render_markdown,
)


def _report() -> ReplayReport:
    session = ReportSession(
        replay_id="dev|1/1773565200000",
        url="https://app.amplitude.com/analytics/acme/session-replay/project/1/search/replay?sessionReplayId=dev%7C1%2F1773565200000",
        user_key="user-<b>7</b>",
        start=dt.datetime(2026, 3, 15, 9, 30, 5),
        duration_seconds=125.4,
        event_count=14,
        screenshot="dev_1_1773565200000.png",
    )
    cluster = ReportCluster(
        cluster_id=0,
        size=9,
        share=0.375,
        title="Card declines <script>alert(1)</script>",
        summary="Users retry.\nThen leave.",
        source="llm",
        model="gpt-4o-mini",
        cached=True,
        top_terms=["checkout", "declined"],
        silhouette=0.61,
        sessions=[session],
    )
    offline = ReportCluster(
        cluster_id=1,
        size=15,
        share=0.625,
        title="search, filters",
        summary="Offline summary (no LLM configured): ...",
        source="offline",
        model=None,
        cached=False,
        top_terms=[],
        silhouette=None,
        sessions=[],
    )
    return ReplayReport(
        day="2026-03-15",
        demo=False,
        sessions_with_replays=24,
        screenshotted=23,
        clustering_method="kmeans",
        silhouette=0.5,
        text_source="ocr (23), none (1)",
        clusters=[cluster, offline],
        failed=[FailedReplay("dev/2", "https://example.test/2", "timed out | after 90s")],
    )


def test_markdown_report_lists_clusters_links_screenshots_and_failures():
    markdown = render_markdown(_report())
    assert markdown.startswith("# Session replays — 2026-03-15")
    assert "Demo data" not in markdown
    assert "## Card declines &lt;script&gt;alert(1)&lt;/script&gt;" in markdown and "user-&lt;b&gt;7" in markdown
    assert "**9 sessions (38%)** · cluster 0 · silhouette 0.61 · LLM summary (gpt-4o-mini, cached)" in markdown
    assert "\n\nUsers retry.\nThen leave.\n" in markdown
    assert (
        "| [dev\\|1/1773565200000](https://app.amplitude.com/" in markdown and "| 09:30:05 | 2m 05s | 14 |" in markdown
    )
    assert "![dev\\|1/1773565200000](dev_1_1773565200000.png)" in markdown
    assert "offline summary" in markdown and "Top terms: (none)" in markdown
    assert "| [dev/2](https://example.test/2) | timed out \\| after 90s |" in markdown


def test_html_report_embeds_screenshots_and_escapes_text():
    html = render_html(_report(), {"dev_1_1773565200000.png": b"\x89PNG-bytes"})
    assert "<script>alert(1)</script>" not in html and "Card declines &lt;script&gt;" in html
    assert "user-&lt;b&gt;7&lt;/b&gt;" in html
    assert 'src="data:image/png;base64,iVBORy1ieXRlcw=="' in html
    assert (
        'href="https://app.amplitude.com/analytics/acme/session-replay/project/1/search/replay?sessionReplayId=dev%7C1%2F1773565200000"'
        in html
    )
    assert '<span class="label offline">offline summary</span>' in html
    assert render_html(_report(), {}).count("<img") == 0  # a screenshot it was not given is not referenced
