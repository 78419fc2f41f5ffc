"""The migration's phases: which store answers reads and which stores take writes."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    LEGACY = "legacy"
    DUAL_WRITE = "dual-write"
    SERVICE_PRIMARY = "service-primary"
    SERVICE_ONLY = "service-only"


DEFAULT_PHASE = Phase.LEGACY


def is_sqlite_source_of_truth(phase: Phase) -> bool:
    """Whether SQLite holds the truth in `phase` (until cut-over), Redis a copy of it."""
    return phase in (Phase.LEGACY, Phase.DUAL_WRITE)
