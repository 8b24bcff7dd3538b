"""One protocol for every way of getting a raw day into the object store.

A :class:`DaySource` fetches one Moscow day into a work folder, publishes it to the raw store and says what it
stored. The ingest assets run one source, chosen by their resource (Export API, S3 export, Logs API or the demo
generator), so each asset has a single code path. A source is used as a context manager: entering it says in the
log which source runs and opens its client; leaving it closes the client.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from analytics_dagster.lib.raw_store import Manifest

PREVIEW_FILES = 24


@dataclass
class DayResult:
    manifest: Manifest
    rows: int
    preview: str  # markdown
    metadata: dict[str, Any] = field(default_factory=dict)


class DaySource(Protocol):
    parallel: int  # days fetched at once (within the API's own limit)

    def __enter__(self) -> DaySource:
        """Says in the log which source runs."""
        ...

    def __exit__(self, *exc_info: object) -> None: ...

    def fetch_day(self, day: str, work: Path) -> DayResult:
        """Fetches and publishes Moscow day ``day`` (YYYY-MM-DD), using the new folder ``work`` for its files."""
        ...


class WithoutClient:
    """Base of a source with nothing to close when it is left (the demo; the S3 export's boto3 client)."""

    def __exit__(self, *exc_info: object) -> None:
        return None


def files_preview(manifest: Manifest) -> str:
    rows = "\n".join(f"| {f.name} | {f.lines:,} | {f.bytes:,} |" for f in manifest.files[:PREVIEW_FILES])
    more = f"\n\n…and {len(manifest.files) - PREVIEW_FILES} more files" if len(manifest.files) > PREVIEW_FILES else ""
    return f"| file | lines | bytes |\n|---|---:|---:|\n{rows}{more}"
