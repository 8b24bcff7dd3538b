"""What a demo writer reports about the file it wrote."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSummary:
    events: int  # event records written (including exact duplicates)
    files: int  # ZIP members (Amplitude) or 1 (AppMetrica body)
    bytes: int  # size of the file written
    users: int  # distinct users with at least one record in the file
    sessions: int = 0
    late_events: int = 0  # events uploaded / received 1..3 days after they happened
    duplicates: int = 0  # exact duplicate lines (Amplitude only)
    first_hour: int | None = None  # first UTC-hour index present (0 = (D-1)T21)
    demo: bool = True
