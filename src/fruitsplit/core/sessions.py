"""When a login session is still valid, and when its last-seen time is worth writing."""

from __future__ import annotations

from dataclasses import dataclass

from fruitsplit.core.users import User

# Writing last-seen on every request would make every page view a database write.
TOUCH_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_timeout_s: float = 8 * 3600.0
    absolute_timeout_s: float = 7 * 24 * 3600.0

    def is_expired(self, *, created_at: float, last_seen_at: float, now: float) -> bool:
        return (
            now - last_seen_at > self.idle_timeout_s or now - created_at > self.absolute_timeout_s
        )


def needs_touch(*, last_seen_at: float, now: float) -> bool:
    return now - last_seen_at >= TOUCH_INTERVAL_S


@dataclass(frozen=True, slots=True)
class StoredSession:
    user: User
    csrf_token: str
    created_at: float
    last_seen_at: float
