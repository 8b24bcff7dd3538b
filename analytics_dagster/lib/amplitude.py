"""Amplitude Export API client: one Moscow day of raw events as the hourly json.gz files of the export ZIP.

``GET {base}/api/2/export?start=YYYYMMDDTHH&end=YYYYMMDDTHH`` with Basic auth (API key : secret key) returns a ZIP
of ``<projectId>/<projectId>_<UTC date>_<UTC hour>#<n>.json.gz`` members for the hours of ``server_upload_time``
in the window (both ends inclusive). Moscow day D is ``start=(D-1)T21``, ``end=DT20``.

How the client treats the API's answers:

* 200: the archive is streamed to disk (never held in memory), extracted, and every member is decompressed to
  its end to prove it whole; a truncated ZIP or a corrupt gzip member is fetched again, never returned. A member
  that comes back with the very same corrupt bytes is an :class:`AmplitudeExportError` naming it: the export
  itself is broken and no retry fixes it.
* 404: no data in the window — an empty result, not an error.
* 429, 5xx, timeouts, dropped connections: retried with exponential backoff and jitter, honouring Retry-After.
* 400 (the export would exceed 4 GB) and 504 (the export took too long): the window is split in halves and each
  half fetched on its own, down to single hours; a single hour that still fails points to the S3 export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from analytics_dagster.lib.http_retry import (
    Backoff,
    Log,
    RetriesExhaustedError,
    RetryableError,
    call_with_retries,
    error_for_status,
    error_for_transport,
)
from analytics_dagster.lib.moscow_time import moscow_day_utc_bounds
from analytics_dagster.lib.raw_store import CorruptRawFileError, describe_gzip_file, extract_export_zip

REGION_BASE_URLS = {"us": "https://amplitude.com", "eu": "https://analytics.eu.amplitude.com"}
EXPORT_PATH = "/api/2/export"
# Amplitude allows 5 concurrent Export API requests per project.
MAX_CONCURRENT_REQUESTS = 5
HOUR = dt.timedelta(hours=1)
S3_EXPORT_HINT = (
    "A single hour is the smallest window the Export API accepts; load this data through Amplitude's Amazon S3 "
    "export instead (set AMPLITUDE_S3_EXPORT_PREFIX; the amplitude_s3_export_sensor fills the same raw store, "
    "see docs/ingest.md)"
)


def export_base_url(region: str = "us", api_url: str | None = None) -> str:
    """The Export API host for ``AMPLITUDE_REGION``, or ``AMPLITUDE_API_URL`` when set (a proxy, a test server).

    ``AMPLITUDE_API_URL`` may be given with or without the ``/api/2/export`` path.
    """
    if api_url:
        base = api_url.strip().rstrip("/")
        return base[: -len(EXPORT_PATH)] if base.endswith(EXPORT_PATH) else base
    try:
        return REGION_BASE_URLS[region.strip().lower()]
    except KeyError:
        raise ValueError(
            f"AMPLITUDE_REGION={region!r} is not an Amplitude region; use one of {', '.join(REGION_BASE_URLS)}"
        ) from None


@dataclass(frozen=True)
class HourWindow:
    """Whole UTC hours ``first``..``last`` of server_upload_time, both inclusive, as naive UTC datetimes."""

    first: dt.datetime
    last: dt.datetime

    def __post_init__(self) -> None:
        if self.first > self.last or self.first.minute or self.last.minute or self.first.second or self.last.second:
            raise ValueError(f"not a window of whole hours: {self.first} .. {self.last}")

    @classmethod
    def for_moscow_day(cls, day: dt.date) -> HourWindow:
        start, end = moscow_day_utc_bounds(day)
        return cls(start, end - HOUR)

    @property
    def hours(self) -> int:
        return int((self.last - self.first) / HOUR) + 1

    def halves(self) -> tuple[HourWindow, HourWindow]:
        middle = self.first + HOUR * (self.hours // 2)
        return HourWindow(self.first, middle - HOUR), HourWindow(middle, self.last)

    def params(self) -> dict[str, str]:
        return {"start": f"{self.first:%Y%m%dT%H}", "end": f"{self.last:%Y%m%dT%H}"}

    def __str__(self) -> str:
        return f"{self.first:%Y%m%dT%H}-{self.last:%Y%m%dT%H}"


class AmplitudeExportError(RuntimeError):
    """The Export API refused a request in a way that no retry fixes."""


class _WindowTooLarge(Exception):
    """400 (over 4 GB) or 504 on a window of several hours: fetch its halves instead."""


@dataclass
class DayExport:
    """A Moscow day's verified hourly files plus what it took to get them (for the run log and metadata)."""

    files: list[Path] = field(default_factory=list)
    windows: int = 0  # windows requested, including the halves of split windows
    requests: int = 0  # HTTP requests, including retries
    splits: int = 0
    empty_windows: int = 0  # windows answered with 404 (no data)
    corrupt_members: dict[str, str] = field(default_factory=dict)  # member name -> sha256 of its corrupt bytes

    @property
    def retries(self) -> int:
        return self.requests - self.windows


def _body_excerpt(response: httpx.Response, limit: int = 300) -> str:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= limit:
            break
    return body[:limit].decode("utf-8", errors="replace").strip() or "empty body"


class AmplitudeExportClient:
    """Thread-safe; at most ``max_concurrent_requests`` requests are in flight at once, across all threads."""

    def __init__(
        self,
        api_key: str,
        secret_key: str,
        *,
        base_url: str = REGION_BASE_URLS["us"],
        backoff: Backoff = Backoff(),
        timeout: httpx.Timeout = httpx.Timeout(60.0, read=600.0),
        max_concurrent_requests: int = MAX_CONCURRENT_REQUESTS,
        log: Log = logging.getLogger(__name__),
        sleep: Callable[[float], None] = time.sleep,
    ):
        if not api_key or not secret_key:
            raise ValueError("the Amplitude Export API needs both an API key and a secret key")
        self.base_url = base_url
        self.backoff = backoff
        self.log = log
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(max_concurrent_requests)
        self._http = httpx.Client(
            base_url=base_url,
            auth=httpx.BasicAuth(api_key, secret_key),
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": "analytics_dagster (Amplitude Export API client)"},
        )

    def __enter__(self) -> AmplitudeExportClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def export_day(self, day: dt.date, work_dir: Path) -> DayExport:
        """Downloads Moscow day ``day`` into ``work_dir``; the result's files are verified json.gz members."""
        export = DayExport()
        export.files = self._export(HourWindow.for_moscow_day(day), work_dir, export)
        return export

    def _export(self, window: HourWindow, work_dir: Path, export: DayExport) -> list[Path]:
        export.windows += 1
        what = f"Amplitude export {window}"
        try:
            return call_with_retries(
                lambda: self._fetch(window, work_dir / str(window), export),
                backoff=self.backoff,
                what=what,
                log=self.log,
                sleep=self._sleep,
            )
        except _WindowTooLarge as refusal:
            if window.hours == 1:
                raise AmplitudeExportError(f"{refusal}. {S3_EXPORT_HINT}") from None
            first, second = window.halves()
            export.splits += 1
            self.log.warning(f"{refusal}: splitting the window into {first} and {second}")
            return self._export(first, work_dir, export) + self._export(second, work_dir, export)
        except RetriesExhaustedError as failure:
            if failure.last_error.status == 504:
                raise AmplitudeExportError(f"{failure}. {S3_EXPORT_HINT}") from failure
            raise

    def _fetch(self, window: HourWindow, window_dir: Path, export: DayExport) -> list[Path]:
        what = f"Amplitude export {window}"
        shutil.rmtree(window_dir, ignore_errors=True)
        window_dir.mkdir(parents=True)
        archive = window_dir / "export.zip"
        export.requests += 1
        with self._slots:
            try:
                with self._http.stream("GET", EXPORT_PATH, params=window.params()) as response:
                    status = response.status_code
                    if status == 404:
                        export.empty_windows += 1
                        self.log.info(f"{what}: no data (HTTP 404)")
                        return []
                    if status == 400 or (status == 504 and window.hours > 1):
                        reason = "over the 4 GB export limit" if status == 400 else "the export timed out"
                        raise _WindowTooLarge(f"{what}: HTTP {status}, {reason} ({_body_excerpt(response)})")
                    if retryable := error_for_status(response, what):
                        raise retryable
                    if status in (401, 403):
                        raise AmplitudeExportError(
                            f"{what}: HTTP {status}, the credentials were rejected; check AMPLITUDE_API_KEY and "
                            "AMPLITUDE_SECRET_KEY (and AMPLITUDE_REGION: EU projects answer only on the EU host)"
                        )
                    if status != 200:
                        raise AmplitudeExportError(f"{what}: unexpected HTTP {status} ({_body_excerpt(response)})")
                    with open(archive, "wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
            except httpx.TransportError as error:
                raise error_for_transport(error, what) from error
        try:
            files = extract_export_zip(archive, window_dir / "files")
        except CorruptRawFileError as error:  # a cut or damaged download (the ZIP's own CRCs do not match)
            raise RetryableError(f"{what}: the download is corrupt, fetching it again ({error})") from error
        finally:
            archive.unlink(missing_ok=True)
        for path in files:
            try:
                describe_gzip_file(path)
            except CorruptRawFileError as error:
                self._corrupt_member(what, path, error, export)
        if not files:
            export.empty_windows += 1
        return files

    @staticmethod
    def _corrupt_member(what: str, path: Path, error: CorruptRawFileError, export: DayExport) -> None:
        """A member the ZIP carried intact whose gzip data is broken: fetched again once; the same bytes twice
        mean the export itself is broken, which no retry fixes."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if export.corrupt_members.get(path.name) == digest:
            raise AmplitudeExportError(
                f"{what}: member {path.name} of the export ZIP is not valid gzip ({error}), and the Export API sent "
                "the same bytes again: the export itself is broken, so the day is not stored. Ask Amplitude "
                "support, or load the hour through the S3 export"
            ) from error
        export.corrupt_members[path.name] = digest
        raise RetryableError(f"{what}: member {path.name} is corrupt, fetching it again ({error})") from error
