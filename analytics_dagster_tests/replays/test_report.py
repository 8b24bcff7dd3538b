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


def _report(*, is_demo: bool = False) -> ReplayReport:
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
        summary="Offline summary (no LLM configured): ... Typical sessions:\n\n- /search → /filters\n- /search",
        source="offline",
        model=None,
        cached=False,
        top_terms=[],
        silhouette=None,
        sessions=[],
    )
    example = ReportSession(
        replay_id="dev/3",
        url="https://example.test/3",
        user_key="user-3",
        start=dt.datetime(2026, 3, 14, 22, 10, 0),  # 01:10 on the report's Moscow day
        duration_seconds=30,
        event_count=4,
        screenshot="dev_3.png",
    )
    unseen = ReportCluster(
        cluster_id=2,
        size=4,
        share=0.1,
        title="unseen",
        summary="Four sessions.",
        source="offline",
        model=None,
        cached=False,
        top_terms=["x"],
        silhouette=None,
        sessions=[ReportSession("dev/4", "https://example.test/4", "u4", dt.datetime(2026, 3, 14, 20, 0), 1, 1, None)],
        example=example,
    )
    return ReplayReport(
        day="2026-03-15",
        is_demo=is_demo,
        demo=False,
        sessions_with_replays=24,
        screenshotted=23,
        clustering_method="kmeans",
        silhouette=0.5,
        text_source="ocr (23), none (1)",
        clusters=[cluster, offline, unseen],
        failed=[FailedReplay("dev/2", "https://example.test/2", "timed out | after 90s")],
    )


def test_markdown_report_lists_clusters_links_screenshots_and_failures():
    markdown = render_markdown(_report())
    assert markdown.startswith("# Session replays — 2026-03-15")
    assert "Demo data" not in markdown
    assert "## Card declines &lt;script&gt;alert(1)&lt;/script&gt;" in markdown and "user-&lt;b&gt;7" in markdown
    assert "**9 sessions (38%)** · cluster 0 · silhouette 0.61 · LLM summary (gpt-4o-mini, cached)" in markdown
    assert "\n\nUsers retry.\nThen leave.\n" in markdown
    # Times in Moscow (UTC+3), with the date when the session began the day before.
    assert (
        "| [dev\\|1/1773565200000](https://app.amplitude.com/" in markdown and "| 12:30:05 | 2m 05s | 14 |" in markdown
    )
    assert "| start (Moscow) |" in markdown and "| 2026-03-14 23:00:00 |" in markdown
    # A thumbnail links to the full-size PNG beside the report; a cluster without a screenshotted representative
    # shows another of its sessions, and one without any says so.
    assert "[![dev\\|1/1773565200000](dev_1_1773565200000.png)](dev_1_1773565200000.png)" in markdown
    assert "[![dev/3](dev_3.png)](dev_3.png) _(example session of the cluster)_" in markdown
    assert "No session of this cluster could be screenshotted" in markdown
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
    assert render_html(_report(), {}).count('alt="screenshot of replay') == 0  # no screenshot it was not given


def test_html_report_renders_markdown_opens_images_full_size_and_shows_moscow_times():
    html = render_html(_report(), {"dev_1_1773565200000.png": b"png-1", "dev_3.png": b"png-3"})
    # The offline summary's list is an HTML list, not raw "- " markers; raw HTML in a summary stays text.
    assert "<li>/search → /filters</li>" in html and "\n- /search" not in html
    assert "<p>Users retry.\nThen leave.</p>" in html
    # A thumbnail's link is the image itself (the PNG beside the report; the page script shows it full size).
    assert '<a class="shot" href="dev_1_1773565200000.png" target="_blank"><img src="data:image/png;base64,' in html
    assert '<a class="shot" href="dev_3.png"' in html and "(an example session of the cluster)" in html
    assert "<th>start (Moscow)</th>" in html and "<td>12:30:05</td>" in html and "Moscow time" in html


def test_demo_data_is_labelled_in_both_renderings():
    assert "Demo data" not in render_html(_report(), {})
    html = render_html(_report(is_demo=True), {})
    markdown = render_markdown(_report(is_demo=True))
    assert "<title>[DEMO] Session replays — 2026-03-15</title>" in html and 'id="demo-data"' in html
    assert "> **Demo data.** These sessions come from the built-in demo source" in markdown


def test_markdown_in_summaries_cannot_inject_html():
    report = _report()
    report.clusters[0] = ReportCluster(**{**vars(report.clusters[0]), "summary": "- <img src=x onerror=alert(1)>"})
    html = render_html(report, {})
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
