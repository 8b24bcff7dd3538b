"""Screenshots of N demo replays with Playwright + Chromium: prints the time per replay.

Usage: python benchmarks/replays_screenshots.py [--replays 50] [--concurrency 3] [--screenshots 4]

The replays are constructed sessions rendered as demo replay pages and served from 127.0.0.1, screenshotted by the
same code as the ``replay_screenshots`` asset (one browser, a context per replay, bounded concurrency).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from analytics_dagster.lib.replays.browser import (
    DEMO_PLAYER,
    BrowserSettings,
    ReplayJob,
    capture_replays_sync,
    default_chromium_path,
)
from analytics_dagster.lib.replays.demo_player import render_demo_player, serve_demo_pages
from analytics_dagster.lib.replays.links import replay_key
from analytics_dagster.lib.replays.synthetic import synthetic_sessions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--screenshots", type=int, default=4, help="screenshots per replay")
    args = parser.parse_args()

    sessions = [session for _, session in synthetic_sessions(args.replays, seed=1)]
    started = time.perf_counter()
    pages = {replay_key(s.replay_id): render_demo_player(s) for s in sessions}
    render_seconds = time.perf_counter() - started
    settings = BrowserSettings(
        chromium_path=default_chromium_path(), concurrency=args.concurrency, screenshots_per_replay=args.screenshots
    )
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"chromium: {settings.chromium_path or 'Playwright bundled'}")
    with tempfile.TemporaryDirectory(prefix="bench-replays-") as tmp, serve_demo_pages(pages) as base_url:
        jobs = [ReplayJob(s.replay_id, base_url + replay_key(s.replay_id), replay_key(s.replay_id)) for s in sessions]
        started = time.perf_counter()
        results = capture_replays_sync(jobs, Path(tmp), settings, DEMO_PLAYER)
        total = time.perf_counter() - started
        png_bytes = sum(shot.path.stat().st_size for r in results for shot in r.screenshots)

    ok = [r for r in results if r.status == "ok"]
    latencies = sorted(r.seconds for r in ok)
    print(
        f"replays: {len(results)} ({len(ok)} ok, {len(results) - len(ok)} failed), "
        f"{args.screenshots} screenshots each, concurrency {args.concurrency}"
    )
    print(f"rendering demo pages: {render_seconds:.2f} s total")
    print(f"screenshotting: {total:.1f} s total (browser start included)")
    print(f"time per replay: {total / len(results):.2f} s wall-clock throughput")
    if latencies:
        p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
        print(f"per-replay latency: median {statistics.median(latencies):.2f} s, p95 {p95:.2f} s")
    per_screenshot = png_bytes / max(1, len(ok) * args.screenshots)
    print(f"PNG output: {png_bytes / 1e6:.1f} MB ({per_screenshot / 1e3:.0f} kB per screenshot)")


if __name__ == "__main__":
    main()
