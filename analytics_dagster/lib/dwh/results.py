"""What a day's load reports: per source (records read, quarantined, repaired, duplicates, loaded) and per run."""

from __future__ import annotations

from dataclasses import dataclass

from analytics_dagster.lib.dwh.quarantine import QuarantineReport


@dataclass
class SourceResult:
    source: str
    origin: str | None  # manifest origin ('demo', 'export_api', ...); None when the day is missing
    files: int = 0
    records: int = 0  # records read (loaded + quarantined + duplicates)
    quarantined: int = 0  # malformed records (the share limit counts these and the repaired ones)
    repaired: int = 0  # records loaded with fields as NULL whose text did not fit their type (invalid_fields)
    conflicting_versions: int = 0  # records dropped because another record of the uuid differs (quarantined)
    duplicates_in_day: int = 0  # exact copies of a record of the day
    duplicates_of_earlier_days: int = 0
    loaded: int = 0

    @property
    def missing(self) -> bool:
        return self.origin is None

    @property
    def is_demo(self) -> bool:
        return self.origin == "demo"


@dataclass
class DayLoadResult:
    partition: str
    sources: dict[str, SourceResult]
    rows: dict[str, int]  # rows written per table by this run
    previews: dict[str, str]  # markdown preview per table
    quarantine: QuarantineReport
    taken_over: int  # events this day took over from later partitions
    recomputed_partitions: list[str]  # later partitions whose history / aggregates were recomputed
    rebuilt_users: int  # users rebuilt from their whole history (their recorded events vanished)
    property_keys: int  # user-property keys over all bags of the day
    mapped_property_keys: int  # ...of which the mappings name
    unmapped_keys: dict[str, int]  # most frequent keys no mapping names -> events carrying them
    timings: dict[str, float]

    @property
    def events(self) -> int:
        return self.rows["events_part"]

    @property
    def is_demo(self) -> bool:
        return any(s.is_demo for s in self.sources.values())
