"""The claims of the token the monolith issues for the fruits service."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from fruitsplit.core.users import User

FRUITS_AUDIENCE = "service:fruits"
DEFAULT_LIFETIME = timedelta(seconds=30)


def subject_for(user_id: int) -> str:
    return f"user:{user_id}"


def build_claims(
    user: User,
    *,
    now: datetime,
    lifetime: timedelta = DEFAULT_LIFETIME,
    audience: str = FRUITS_AUDIENCE,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Claims for `user`: extras first, so they can never override sub, aud, exp or iat."""
    claims: dict[str, Any] = {"super": user.is_super, "username": user.username}
    claims.update(extra or {})
    issued_at = int(now.timestamp())
    claims["sub"] = subject_for(user.id)
    claims["aud"] = audience
    claims["iat"] = issued_at
    claims["exp"] = issued_at + int(lifetime.total_seconds())
    return claims
