"""Malformed raw records: kept aside in the object store with partition, file, line and reason, and counted.

A run writes ``quarantine/dwh/<day>/records.jsonl.gz`` (one JSON object per record: partition, source, file, line,
reason, raw) and ``quarantine/dwh/<day>/_summary.json``, replacing whatever an earlier run of the day left there, and
fails when a source's share of quarantined records exceeds the configured maximum.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from analytics_dagster.lib.object_store import ObjectStore

QUARANTINE_FILE = "records.jsonl.gz"
SUMMARY_FILE = "_summary.json"
SAMPLE_SIZE = 5


def quarantine_prefix(day: str) -> str:
    return f"quarantine/dwh/{day}"


@dataclass(frozen=True)
class QuarantinedRecord:
    source: str
    file: str
    line: int | None
    reason: str


@dataclass
class QuarantineReport:
    partition: str
    records: dict[str, int]  # records read per source (loaded + quarantined)
    quarantined: dict[str, int]  # quarantined records per source
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined records per reason
    files: dict[str, int] = field(default_factory=dict)  # quarantined records per raw file
    sample: list[QuarantinedRecord] = field(default_factory=list)
    uri: str | None = None
    url: str | None = None  # the same object as a link a browser opens (ObjectStore.public_url)

    @property
    def total(self) -> int:
        return sum(self.quarantined.values())

    def share(self, source: str) -> float:
        read = self.records.get(source, 0)
        return self.quarantined.get(source, 0) / read if read else 0.0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str).encode()


class QuarantineLimitExceeded(RuntimeError):
    """More malformed records than the configured share: the partition is not loaded."""

    def __init__(self, report: QuarantineReport, max_share: float):
        self.report = report
        worst = [
            f"{source}: {report.quarantined.get(source, 0):,} of {report.records[source]:,} records "
            f"({report.share(source):.2%})"
            for source in sorted(report.records)
            if report.share(source) > max_share
        ]
        examples = "; ".join(f"{r.file} line {r.line}: {r.reason}" for r in report.sample)
        super().__init__(
            f"partition {report.partition}: malformed records exceed the allowed share of {max_share:.2%} "
            f"({', '.join(worst)}). Nothing was written to the warehouse. Examples: {examples}. "
            f"All of them: {report.uri}"
        )


def collect_quarantine(con: Any, day: str, workdir: Path) -> tuple[QuarantineReport, Path]:
    """Counts the records of ``dwh_records`` with a problem and writes them (partition, source, file, line, reason,
    raw) to a local gzip JSON-lines file; the problem records stay in ``dwh_records`` until :func:`drop_quarantined`."""
    records = dict(con.execute("SELECT source, count(*) FROM dwh_records GROUP BY source").fetchall())
    quarantined = dict(
        con.execute("SELECT source, count(*) FROM dwh_records WHERE problem IS NOT NULL GROUP BY source").fetchall()
    )
    reasons = dict(con.execute(
        "SELECT regexp_replace(problem, ': .*$', '') AS reason, count(*) FROM dwh_records "  # reason without value
        "WHERE problem IS NOT NULL GROUP BY reason ORDER BY count(*) DESC, reason"
    ).fetchall())
    files = dict(con.execute(
        "SELECT raw_file, count(*) FROM dwh_records WHERE problem IS NOT NULL GROUP BY raw_file ORDER BY raw_file"
    ).fetchall())
    sample = [
        QuarantinedRecord(*row)
        for row in con.execute(
            "SELECT source, raw_file, line_number, problem FROM dwh_records WHERE problem IS NOT NULL "
            f"ORDER BY source, raw_file, line_number LIMIT {SAMPLE_SIZE}"
        ).fetchall()
    ]
    path = workdir / QUARANTINE_FILE
    con.execute(
        "COPY (SELECT partition_date AS partition, source, raw_file AS file, line_number AS line, problem AS reason, "
        "raw_line AS raw FROM dwh_records WHERE problem IS NOT NULL ORDER BY source, raw_file, line_number) "
        f"TO '{path}' (FORMAT json, COMPRESSION gzip)"
    )
    report = QuarantineReport(day, records, quarantined, reasons, files, sample)
    return report, path


def publish_quarantine(store: ObjectStore, report: QuarantineReport, path: Path) -> None:
    """Makes ``path`` the day's quarantine (or clears it when nothing was quarantined), summary written last."""
    prefix = quarantine_prefix(report.partition)
    report.uri = store.uri(f"{prefix}/{QUARANTINE_FILE}") if report.total else None
    report.url = store.public_url(f"{prefix}/{QUARANTINE_FILE}") if report.total else None
    files = {QUARANTINE_FILE: path} if report.total else {}
    store.replace_prefix(prefix, files, commit_name=SUMMARY_FILE, commit_data=report.to_json())


def check_quarantine_share(report: QuarantineReport, max_share: float) -> None:
    if any(report.share(source) > max_share for source in report.records):
        raise QuarantineLimitExceeded(report, max_share)


def drop_quarantined(con: Any) -> None:
    con.execute("DELETE FROM dwh_records WHERE problem IS NOT NULL")
