"""Speed and memory of the ingest clients on one large day, against the local API server of the test suite.

The server runs in a child process so that the figures are the client's alone. The clients stream: peak memory
should stay flat while the archive (Amplitude) or body (AppMetrica) grows.

    .venv/bin/python benchmarks/ingest_clients.py --events 200000
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import multiprocessing
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from analytics_dagster.lib.amplitude import AmplitudeExportClient
from analytics_dagster.lib.appmetrica import AppMetricaLogsClient, PollPolicy
from analytics_dagster.lib.appmetrica_body import iter_records
from analytics_dagster.lib.http_retry import Backoff
from analytics_dagster.lib.settings import PROJECT_ROOT

DAY = dt.date(2026, 3, 15)


def serve(events: int, ready, stop) -> None:
    sys.path.insert(0, str(PROJECT_ROOT))  # the test suite's server, imported from a plain checkout
    from analytics_dagster_tests.ingest.fault_server import FaultPlan, FaultServer

    with FaultServer(FaultPlan(prepare_polls=1), days=[DAY], events_per_day=events) as server:  # built before serving
        ready.put((server.url, server.state.api_key, server.state.secret_key, server.state.token))
        stop.wait()


class PeakMemory:
    """Samples this process's resident memory every 10 ms while the block runs."""

    def __enter__(self) -> PeakMemory:
        self._process = psutil.Process()
        self.baseline = self.peak = self._process.memory_info().rss
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="demo events per day (default 200,000)")
    events = parser.parse_args().events
    context = multiprocessing.get_context("spawn")
    ready, stop = context.Queue(), context.Event()
    server = context.Process(target=serve, args=(events, ready, stop), daemon=True)
    server.start()
    try:
        url, api_key, secret_key, token = ready.get(timeout=600)
        quiet = Backoff(base_seconds=0.1, max_seconds=1.0, max_attempts=3)
        with tempfile.TemporaryDirectory() as tmp:
            client = AmplitudeExportClient(api_key, secret_key, base_url=url, backoff=quiet)
            with client, PeakMemory() as memory:
                start = time.perf_counter()
                export = client.export_day(DAY, Path(tmp) / "amplitude")
                seconds = time.perf_counter() - start
            size = sum(p.stat().st_size for p in export.files) / 1e6
            print(
                f"Amplitude Export API: {len(export.files)} files, {size:.1f} MB of json.gz in {seconds:.2f} s "
                f"({size / seconds:.1f} MB/s, download + unzip + gzip verification); "
                f"peak memory growth {memory.growth_mb:.1f} MB"
            )

            body_path = Path(tmp) / "events.json.gz"
            client = AppMetricaLogsClient(token, "4000001", base_url=url, backoff=quiet, poll=PollPolicy(0.05, 0.1, 60))
            with client, PeakMemory() as memory:
                start = time.perf_counter()
                table = client.export_day("events", DAY, body_path)
                seconds = time.perf_counter() - start
            with gzip.open(body_path) as body:
                raw_mb = sum(len(chunk) for chunk in iter(lambda: body.read(1 << 20), b"")) / 1e6
            print(
                f"AppMetrica Logs API: {table.records:,} events, {raw_mb:.1f} MB body in {seconds:.2f} s "
                f"({raw_mb / seconds:.1f} MB/s, download + parse check + gzip); "
                f"peak memory growth {memory.growth_mb:.1f} MB"
            )

            with gzip.open(body_path) as body, PeakMemory() as memory:
                start = time.perf_counter()
                count = sum(1 for _ in iter_records(body))
                seconds = time.perf_counter() - start
            print(
                f"AppMetrica record parsing (ids as strings, event_json parsed): {count / seconds:,.0f} records/s; "
                f"peak memory growth {memory.growth_mb:.1f} MB"
            )
    finally:
        stop.set()
        server.join(timeout=30)


if __name__ == "__main__":
    main()
