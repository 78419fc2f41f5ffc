"""The original's password hash, kept only so that its users can still log in once."""

from __future__ import annotations

import base64
import hashlib
import hmac

_LEGACY_SALT = "monolith"


def legacy_password_hash(password: str) -> str:
    """URL-safe padded base64 of SHA-256(password + "monolith"), as the original stores it."""
    digest = hashlib.sha256((password + _LEGACY_SALT).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def is_legacy_hash(stored: str) -> bool:
    return not stored.startswith("$argon2")


def matches_legacy_hash(password: str, stored: str) -> bool:
    return hmac.compare_digest(legacy_password_hash(password), stored)
