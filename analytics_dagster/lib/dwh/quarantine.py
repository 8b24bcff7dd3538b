"""Records that do not load: kept aside in the object store with partition, file, line and reason, and counted.

A run writes ``quarantine/dwh/<day>/records.jsonl.gz`` (one JSON object per record: partition, source, file, line,
reason, raw — or raw_base64 when the bytes are not UTF-8) and ``quarantine/dwh/<day>/_summary.json``, replacing
whatever an earlier run of the day left there. Three kinds of record are counted apart:

* quarantined: malformed (not JSON, a required field missing or wrong, a value a warehouse rejects);
* repaired: loaded, but with fields as NULL whose text did not fit their type (the text is kept in
  ``technical_data.invalid_fields``; counted per field and reason);
* conflicting versions: a second record of a uuid whose content differs from the kept one (quarantined too).

The run fails when a source's quarantined plus repaired records exceed the configured share of its records.
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
# The reason of a conflicting version of a uuid (set by sql/dwh/stage/within_day_duplicates.sql).
CONFLICT_REASON = "same uuid, different content"


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
    records: dict[str, int]  # records read per source (loaded + quarantined + duplicates)
    quarantined: dict[str, int]  # malformed records per source
    reasons: dict[str, int] = field(default_factory=dict)  # quarantined records (conflicts included) per reason
    files: dict[str, int] = field(default_factory=dict)  # quarantined records (conflicts included) per raw file
    sample: list[QuarantinedRecord] = field(default_factory=list)
    repaired: dict[str, int] = field(default_factory=dict)  # records loaded with fields as NULL, per source
    field_problems: dict[str, int] = field(default_factory=dict)  # '<source> <column>: <reason>' -> records
    conflicts: dict[str, int] = field(default_factory=dict)  # conflicting versions of a uuid per source
    uri: str | None = None
    url: str | None = None  # the same object as a link a browser opens (ObjectStore.public_url)

    @property
    def total(self) -> int:
        return sum(self.quarantined.values())

    @property
    def total_repaired(self) -> int:
        return sum(self.repaired.values())

    @property
    def total_conflicts(self) -> int:
        return sum(self.conflicts.values())

    def share(self, source: str) -> float:
        """The share the limit applies to: malformed plus repaired records of all records read."""
        read = self.records.get(source, 0)
        return (self.quarantined.get(source, 0) + self.repaired.get(source, 0)) / read if read else 0.0

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True, default=str).encode()


class QuarantineLimitExceeded(RuntimeError):
    """More malformed (or repaired) records than the configured share: the partition is not loaded."""

    def __init__(self, report: QuarantineReport, max_share: float):
        self.report = report
        worst = [
            f"{source}: {report.quarantined.get(source, 0):,} quarantined and {report.repaired.get(source, 0):,} "
            f"with fields loaded as NULL of {report.records[source]:,} records ({report.share(source):.2%})"
            for source in sorted(report.records)
            if report.share(source) > max_share
        ]
        examples = "; ".join(f"{r.source} {r.file} line {r.line}: {r.reason}" for r in report.sample)
        fields = ", ".join(f"{name} ({count:,})" for name, count in list(report.field_problems.items())[:SAMPLE_SIZE])
        super().__init__(
            f"partition {report.partition}: malformed records exceed the allowed share of {max_share:.2%} "
            f"({', '.join(worst)}). Nothing was written to the warehouse. Examples: {examples or 'none'}. "
            f"Fields that did not fit their type: {fields or 'none'}. All of them: {report.uri}"
        )


_PROBLEMS = "FROM dwh_records WHERE problem IS NOT NULL"
_MALFORMED = f"{_PROBLEMS} AND NOT starts_with(problem, '{CONFLICT_REASON}')"


def collect_quarantine(con: Any, day: str, records: dict[str, int], workdir: Path) -> tuple[QuarantineReport, Path]:
    """Counts the records of ``dwh_records`` with a problem (and those with fields loaded as NULL) and writes the
    former (partition, source, file, line, reason, raw) to a local gzip JSON-lines file; the problem records stay
    in ``dwh_records`` until :func:`drop_quarantined`. ``records``: records read per source."""

    def counts(sql: str) -> dict[str, int]:
        return dict(con.execute(sql).fetchall())

    quarantined = counts(f"SELECT source, count(*) {_MALFORMED} GROUP BY source")
    conflicts = counts(
        f"SELECT source, count(*) {_PROBLEMS} AND starts_with(problem, '{CONFLICT_REASON}') GROUP BY source"
    )
    reasons = counts(  # the reason without its value ('<what>: <value>')
        f"SELECT regexp_replace(problem, ': .*$', '') AS reason, count(*) {_PROBLEMS} "
        "GROUP BY reason ORDER BY count(*) DESC, reason"
    )
    files = counts(f"SELECT raw_file, count(*) {_PROBLEMS} GROUP BY raw_file ORDER BY raw_file")
    repaired = counts(
        "SELECT source, count(*) FROM dwh_records WHERE problem IS NULL AND field_problems IS NOT NULL GROUP BY source"
    )
    field_problems = counts(
        "SELECT source || ' ' || field_problem AS name, count(*) FROM (SELECT source, unnest(field_problems) AS "
        "field_problem FROM dwh_records WHERE problem IS NULL AND field_problems IS NOT NULL) "
        "GROUP BY name ORDER BY count(*) DESC, name"
    )
    sample = [
        QuarantinedRecord(*row)
        for row in con.execute(
            f"SELECT source, raw_file, line_number, problem {_PROBLEMS} "
            f"ORDER BY source, raw_file, line_number LIMIT {SAMPLE_SIZE}"
        ).fetchall()
    ]
    path = workdir / QUARANTINE_FILE
    con.execute(
        "COPY (SELECT partition_date AS partition, source, raw_file AS file, line_number AS line, problem AS reason, "
        "raw_line AS raw, CASE WHEN raw_bytes IS NOT NULL THEN base64(raw_bytes) END AS raw_base64 "
        f"{_PROBLEMS} ORDER BY source, raw_file, line_number) TO '{path}' (FORMAT json, COMPRESSION gzip)"
    )
    report = QuarantineReport(day, records, quarantined, reasons, files, sample, repaired, field_problems, conflicts)
    return report, path


def publish_quarantine(store: ObjectStore, report: QuarantineReport, path: Path) -> None:
    """Makes ``path`` the day's quarantine (or clears it when nothing was quarantined), summary written last."""
    prefix = quarantine_prefix(report.partition)
    kept = report.total + report.total_conflicts
    report.uri = store.uri(f"{prefix}/{QUARANTINE_FILE}") if kept else None
    report.url = store.public_url(f"{prefix}/{QUARANTINE_FILE}") if kept else None
    files = {QUARANTINE_FILE: path} if kept else {}
    store.replace_prefix(prefix, files, commit_name=SUMMARY_FILE, commit_data=report.to_json())


def check_quarantine_share(report: QuarantineReport, max_share: float) -> None:
    if any(report.share(source) > max_share for source in report.records):
        raise QuarantineLimitExceeded(report, max_share)


def drop_quarantined(con: Any) -> None:
    con.execute("DELETE FROM dwh_records WHERE problem IS NOT NULL")
