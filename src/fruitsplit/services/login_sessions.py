"""Server-side login sessions: random cookie tokens of which only a hash is stored."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from fruitsplit.core.sessions import SessionPolicy, needs_touch
from fruitsplit.core.users import User
from fruitsplit.services.ports import SessionStore

_TOKEN_BYTES = 32  # 256 bits


@dataclass(frozen=True, slots=True)
class ActiveSession:
    user: User
    csrf_token: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SessionService:
    def __init__(
        self, store: SessionStore, policy: SessionPolicy, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._policy = policy
        self._clock = clock

    async def start(self, user: User) -> str:
        """Open a session for `user` and return the cookie token (never stored as is)."""
        token = secrets.token_urlsafe(_TOKEN_BYTES)
        csrf_token = secrets.token_urlsafe(_TOKEN_BYTES)
        now = self._clock()
        await self._store.insert(_token_hash(token), user.id, csrf_token, now)
        # Sessions nobody comes back for would otherwise stay forever; logins are rare
        # enough to pay for the sweep.
        await self._store.delete_stale(
            idle_before=now - self._policy.idle_timeout_s,
            created_before=now - self._policy.absolute_timeout_s,
        )
        return token

    async def resolve(self, token: str) -> ActiveSession | None:
        if not token or len(token) > 256:
            return None
        token_hash = _token_hash(token)
        stored = await self._store.fetch(token_hash)
        if stored is None:
            return None
        now = self._clock()
        if self._policy.is_expired(
            created_at=stored.created_at, last_seen_at=stored.last_seen_at, now=now
        ):
            await self._store.delete(token_hash)
            return None
        if needs_touch(last_seen_at=stored.last_seen_at, now=now):
            await self._store.touch(token_hash, now)
        return ActiveSession(stored.user, stored.csrf_token)

    async def end(self, token: str) -> None:
        await self._store.delete(_token_hash(token))
