"""Rules for usernames and passwords, and the user as the domain sees it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from fruitsplit.core.errors import InvalidInput, InvalidUsername, WeakPassword

MAX_USERNAME_LENGTH = 64
# SQLite's INTEGER PRIMARY KEY and the original's Go int are 64-bit: no id is larger.
MAX_USER_ID = 2**63 - 1
MAX_USER_ID_DIGITS = len(str(MAX_USER_ID))
# ASCII only: str.isdigit() and int() also accept digits such as "\u0661".
_USER_ID = re.compile(rf"[0-9]{{1,{MAX_USER_ID_DIGITS}}}")
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


def parse_user_id(text: str) -> int:
    """Return the user id `text` spells in ASCII decimal digits; raise InvalidInput otherwise.

    Leading zeros are read as the original's strconv.Atoi reads them ("007" is
    7); a sign, white space, other scripts' digits, more than 19 digits or a
    value past 2**63 - 1 are refused.
    """
    if _USER_ID.fullmatch(text) is None or int(text) > MAX_USER_ID:
        raise InvalidInput(
            f"user id must be a non-negative integer of at most {MAX_USER_ID_DIGITS} digits"
        )
    return int(text)


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
