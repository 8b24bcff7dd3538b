"""Benchmark of the demo source: one Amplitude day (ZIP) and one AppMetrica day (events.json).

    python benchmarks/demo_generate.py --events 1000000 [--day 2025-07-01] [--out /tmp] [--gzip-appmetrica]

Prints events/s, seconds, output MB and peak RSS (of this process, after each step).
Target: 1,000,000 Amplitude events in under 60 s on one core, peak RSS well under 1 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from analytics_dagster import demo  # noqa: E402


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--day", default="2025-07-01")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=None, help="folder for the outputs (default: a temp folder, removed)")
    ap.add_argument("--gzip-appmetrica", action="store_true")
    ap.add_argument("--skip-appmetrica", action="store_true")
    args = ap.parse_args()
    day = dt.date.fromisoformat(args.day)
    out = args.out or tempfile.mkdtemp(prefix="demo_bench_")
    print(f"demo source benchmark: day={day} events_per_day={args.events:,} seed={args.seed} out={out}")
    print(f"{'source':<22}{'events':>12}{'seconds':>10}{'events/s':>12}{'output MB':>12}{'peak RSS MB':>13}")
    jobs = [
        (
            "amplitude zip",
            lambda p: demo.write_amplitude_export_zip(day, p, events_per_day=args.events, seed=args.seed),
            "amplitude.zip",
        )
    ]
    if not args.skip_appmetrica:
        ext = ".json.gz" if args.gzip_appmetrica else ".json"
        jobs.append(
            (
                "appmetrica events" + (" gz" if args.gzip_appmetrica else ""),
                lambda p: demo.write_appmetrica_events_json(
                    day, p, events_per_day=args.events, seed=args.seed, gzip_output=args.gzip_appmetrica
                ),
                "events" + ext,
            )
        )
    paths = []
    for name, fn, fname in jobs:
        path = os.path.join(out, fname)
        t0 = time.perf_counter()
        s = fn(path)
        sec = time.perf_counter() - t0
        paths.append(path)
        print(
            f"{name:<22}{s.events:>12,}{sec:>10.2f}{s.events / sec:>12,.0f}{s.bytes / 1e6:>12.1f}"
            f"{_peak_rss_mb():>13.0f}",
            flush=True,
        )
    if args.out is None:
        for p in paths:
            os.remove(p)
        os.rmdir(out)


if __name__ == "__main__":
    main()
