"""How many failed logins are allowed, and how long to wait once past the limit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThrottleRule:
    max_failures: int
    window_s: float

    def retry_after_s(self, failures_at: Sequence[float], *, now: float) -> int:
        """Seconds to wait before the next attempt, or 0 when one is allowed.

        `failures_at` are the times of failed attempts, oldest first.
        """
        recent = [at for at in failures_at if now - at < self.window_s]
        if len(recent) < self.max_failures:
            return 0
        # The attempt that brings the count below the limit is the one after
        # the oldest counted failure leaves the window.
        oldest_counted = recent[-self.max_failures]
        return max(1, math.ceil(oldest_counted + self.window_s - now))


PER_USERNAME = ThrottleRule(max_failures=5, window_s=300.0)
PER_ADDRESS = ThrottleRule(max_failures=20, window_s=300.0)
