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


def needs_agreeing_stores(current: Phase, new: Phase) -> bool:
    """Whether switching from `current` to `new` is safe only when both stores agree.

    Before cut-over Redis is a copy still being built, so legacy and dual-write
    switch freely; any move into, out of or between the phases after cut-over
    changes which store is the truth, and must not start from a divergence.
    """
    before_cut_over = {Phase.LEGACY, Phase.DUAL_WRITE}
    return current is not new and not {current, new} <= before_cut_over
