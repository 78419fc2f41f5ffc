"""Rules for usernames and passwords, and the user as the domain sees it."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from fruitsplit.core.errors import InvalidUsername, WeakPassword

MAX_USERNAME_LENGTH = 64
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    is_super: bool


@dataclass(frozen=True, slots=True)
class StoredUser:
    user: User
    password_hash: str


def check_username(username: str) -> str:
    """Return `username` if it may be registered, else raise InvalidUsername."""
    if not username or not username.strip():
        raise InvalidUsername("username is required")
    if len(username) > MAX_USERNAME_LENGTH:
        raise InvalidUsername(f"username must be at most {MAX_USERNAME_LENGTH} characters")
    if username != username.strip():
        raise InvalidUsername("username may not start or end with white space")
    # Cc: control characters; Cf: invisible format characters (bidi overrides, zero width).
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in username):
        raise InvalidUsername("username may not contain control characters")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    return password
