"""Outbox entries (writes the secondary store has not confirmed) and when to retry them."""

from __future__ import annotations

from dataclasses import dataclass

MAX_RETRY_DELAY_S = 60.0
FIRST_RETRY_DELAY_S = 0.5


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    id: int
    user_id: int
    version: int
    attempts: int


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    oldest_created_at: float | None
    failing: int  # entries that failed at least once


def retry_delay_s(attempts: int) -> float:
    """Exponential back-off after `attempts` failures, capped; an entry is never dropped."""
    return min(MAX_RETRY_DELAY_S, FIRST_RETRY_DELAY_S * 2.0 ** min(attempts, 16))
