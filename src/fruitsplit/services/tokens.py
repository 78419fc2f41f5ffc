"""Issuing the short-lived tokens that let the fruits service act for a user."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fruitsplit.core.claims import build_claims
from fruitsplit.core.users import User
from fruitsplit.services.ports import Signer


class TokenService:
    def __init__(self, signer: Signer, *, lifetime: timedelta, clock: Callable[[], float]) -> None:
        self._signer = signer
        self._lifetime = lifetime
        self._clock = clock

    def issue(self, user: User) -> str:
        now = datetime.fromtimestamp(self._clock(), tz=UTC)
        return self._signer.sign(build_claims(user, now=now, lifetime=self._lifetime))

    def jwks(self) -> dict[str, Any]:
        return self._signer.jwks()
