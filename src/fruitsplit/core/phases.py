"""The migration's phases: which store answers reads and which stores take writes."""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    LEGACY = "legacy"
    DUAL_WRITE = "dual-write"
    SERVICE_PRIMARY = "service-primary"
    SERVICE_ONLY = "service-only"


DEFAULT_PHASE = Phase.LEGACY
