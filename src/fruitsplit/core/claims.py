"""The claims of the token the monolith issues for the fruits service."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fruitsplit.core.errors import InvalidToken, TokenExpired
from fruitsplit.core.users import MAX_USER_ID, MAX_USER_ID_DIGITS, User

FRUITS_AUDIENCE = "service:fruits"
DEFAULT_LIFETIME = timedelta(seconds=30)
# The monolith registers at most 64 characters, but the original had no limit and
# its users keep their names; this only bounds what a record may be made to carry.
MAX_TOKEN_USERNAME_LENGTH = 256
# Exactly what subject_for writes: ASCII digits, no sign, no leading zero.
_SUBJECT = re.compile(rf"user:(0|[1-9][0-9]{{0,{MAX_USER_ID_DIGITS - 1}}})")


@dataclass(frozen=True, slots=True)
class TokenSubject:
    """Who a checked token speaks for: the only source of the writer's identity."""

    user_id: int
    username: str
    is_super: bool


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


def check_claims(claims: Mapping[str, Any], *, now: datetime, leeway: timedelta) -> TokenSubject:
    """Check the claims of a token whose signature is already verified; return its subject.

    `leeway` tolerates that much clock difference on `exp` and `nbf`. Raises
    TokenExpired once `now` is `leeway` past `exp`, and InvalidToken (kind
    "claims") when `aud` is not, or does not list, "service:fruits"; `exp` is
    missing or not a finite number; `sub` is not exactly "user:<id>"; or
    `username` or `super` is missing or of the wrong type (the original crashed
    on a signed token that lacked them).
    """
    audience = claims.get("aud")
    if not _is_for_fruits(audience):
        raise InvalidToken("claims", f"token is not for {FRUITS_AUDIENCE}")
    now_s = now.timestamp()
    leeway_s = leeway.total_seconds()
    if "exp" not in claims:
        raise InvalidToken("claims", "token has no exp claim")
    expires_at = _numeric_date(claims, "exp")
    if now_s - leeway_s >= expires_at:
        raise TokenExpired()
    if "nbf" in claims and now_s + leeway_s < _numeric_date(claims, "nbf"):
        raise InvalidToken("claims", "token is not valid yet")
    return TokenSubject(
        user_id=_user_id_of(claims.get("sub")),
        username=_username_of(claims.get("username")),
        is_super=_is_super_of(claims.get("super")),
    )


def _is_for_fruits(audience: object) -> bool:
    if isinstance(audience, str):
        return audience == FRUITS_AUDIENCE
    # RFC 7519 allows a list of audiences; every member must still be a string.
    return (
        isinstance(audience, list)
        and all(isinstance(member, str) for member in audience)
        and FRUITS_AUDIENCE in audience
    )


def _numeric_date(claims: Mapping[str, Any], name: str) -> float:
    value = claims[name]
    # bool is an int to Python but not a date; NaN and infinity never expire.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidToken("claims", f"{name} must be a number of seconds since the epoch")
    return float(value)


def _user_id_of(subject: object) -> int:
    match = _SUBJECT.fullmatch(subject) if isinstance(subject, str) else None
    if match is None or int(match.group(1)) > MAX_USER_ID:
        raise InvalidToken("claims", "sub must be user:<id>")
    return int(match.group(1))


def _username_of(username: object) -> str:
    if (
        not isinstance(username, str)
        or not username
        or len(username) > MAX_TOKEN_USERNAME_LENGTH
        or not _is_utf8_encodable(username)
    ):
        raise InvalidToken(
            "claims",
            f"username must be a non-empty string of at most {MAX_TOKEN_USERNAME_LENGTH}"
            " characters",
        )
    return username


def _is_utf8_encodable(text: str) -> bool:
    # JSON's "\ud800" decodes to a lone surrogate, which no record can encode.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_super_of(flag: object) -> bool:
    # Exactly true or false: "true", 1 or null are not a decision the monolith made.
    if not isinstance(flag, bool):
        raise InvalidToken("claims", "super must be true or false")
    return flag
