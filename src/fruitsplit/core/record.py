"""The Redis fruit record: its key `user:<id>` and its value `<base64 username>:<fruit>`.

Both formats are a contract with the original (Go) system, which writes keys
with `fmt.Sprintf("user:%d", id)` and values with `base64.StdEncoding` (padded)
of the username, a ':' and the fruit, and reads them back by splitting on ':'.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from fruitsplit.core.errors import CorruptRecord

RECORD_KEY_PREFIX = "user:"
# What SCAN MATCH selects; every key it selects must parse (see parse_record_key).
RECORD_KEY_PATTERN = RECORD_KEY_PREFIX + "*"
VERSION_KEY_PREFIX = "fruit-version:"
SEPARATOR = ":"

# ASCII digits only (str.isdigit also accepts "²" and "٣"), and no leading zero,
# so that exactly one key spells each id and record_key(parse_record_key(k)) == k.
_RECORD_KEY = re.compile(r"user:(0|[1-9][0-9]*)")
_RECORD_KEY_LINES = re.compile(r"(?:user:(?:0|[1-9][0-9]*)\n)*")
_BASE64_ALPHABET = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
)
_PAD = ord("=")
# Exactly the input Go's base64.StdEncoding decodes (bar the '\r' and '\n' it skips):
# whole quanta, padding only in the last one. Matched in C first, because the port
# of Go's decoder below runs byte by byte in Python and is needed only to name the
# offending byte of a corrupt record.
_CANONICAL_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


@dataclass(frozen=True, slots=True)
class FruitRecord:
    """A decoded record: the username as the service shows it, and the fruit."""

    username: str
    fruit: str


def record_key(user_id: int) -> str:
    """Return the Redis key of `user_id`'s record; raise ValueError for a negative id."""
    if isinstance(user_id, bool) or user_id < 0:
        raise ValueError(f"user id must be a non-negative integer, not {user_id!r}")
    return f"{RECORD_KEY_PREFIX}{user_id:d}"


def version_key(user_id: int) -> str:
    """The key holding the version of `user_id`'s record.

    Outside user:* (the original parses every value there), and hash-tagged with
    the record key so that both live in one Redis Cluster slot and one script
    may touch both.
    """
    return version_key_of(record_key(user_id))


def version_key_of(key: str) -> str:
    """version_key() from a record key already built (bulk writes build millions)."""
    return f"{VERSION_KEY_PREFIX}{{{key}}}"


def parse_record_key(key: str) -> int | None:
    """Return the user id a record key names, or None if `key` is not exactly one.

    Strict: "user:" then ASCII decimal digits, no sign, space or leading zero.
    """
    match = _RECORD_KEY.fullmatch(key)
    return int(match.group(1)) if match else None


def parse_record_keys(keys: Sequence[str]) -> list[int | None]:
    """parse_record_key() of each key, at a fraction of the cost when all are record keys."""
    joined = "".join(f"{key}\n" for key in keys)
    # One match in C for the common case; a key holding a newline could fake a
    # boundary, so the count of newlines must be the count of keys.
    if joined.count("\n") == len(keys) and _RECORD_KEY_LINES.fullmatch(joined):
        return [int(key[len(RECORD_KEY_PREFIX) :]) for key in keys]
    return [parse_record_key(key) for key in keys]


def encode_record(username: str, fruit: str) -> str:
    """Return the record value for `username` and `fruit`.

    Raises ValueError when `fruit` contains ':', which would make the value
    unreadable to the original's `strings.Split(record, ":")` (fruits reaching
    here should come from core.fruits.normalize_fruit, which forbids it).
    """
    if SEPARATOR in fruit:
        raise ValueError(f"fruit may not contain {SEPARATOR!r}: {fruit!r}")
    encoded = base64.b64encode(username.encode("utf-8")).decode("ascii")
    return f"{encoded}{SEPARATOR}{fruit}"


def record_keys(user_ids: Sequence[int]) -> list[str]:
    """record_key() of each id, at a fraction of the cost per key (bulk copies build millions)."""
    if user_ids and min(user_ids) < 0:
        raise ValueError(f"user id must be a non-negative integer, not {min(user_ids)}")
    return list(map(f"{RECORD_KEY_PREFIX}{{:d}}".format, user_ids))


def encode_records(usernames: Sequence[str], fruits: Sequence[str]) -> list[str]:
    """encode_record() of each (username, fruit) pair, at a fraction of the cost per record.

    Raises ValueError, as encode_record does, if any fruit contains ':'.
    """
    if SEPARATOR in "".join(fruits):
        bad = next(fruit for fruit in fruits if SEPARATOR in fruit)
        raise ValueError(f"fruit may not contain {SEPARATOR!r}: {bad!r}")
    # Base64 in C for the whole column: b2a_base64 ends each with a newline, which
    # no base64 text contains, so one split separates them again.
    encoded = b"".join(map(binascii.b2a_base64, map(str.encode, usernames)))
    names = encoded.decode("ascii").split("\n")[:-1]
    return [f"{name}{SEPARATOR}{fruit}" for name, fruit in zip(names, fruits, strict=True)]


def decode_record(value: str) -> FruitRecord:
    """Decode a record value as the original reads it.

    Raises CorruptRecord with kind "bad_shape" when the value does not split on
    ':' into exactly two parts, and "bad_base64" when the first part is not
    strictly valid padded standard base64 of UTF-8 text. The messages are the
    original's log lines: "invalid record: ..." and "failed to decode username: ...".
    """
    parts = value.split(SEPARATOR)
    if len(parts) != 2:
        raise CorruptRecord(
            "bad_shape",
            f"invalid record: expected one {SEPARATOR!r}, found {len(parts) - 1}",
        )
    encoded, fruit = parts
    return FruitRecord(_decode_username(encoded), fruit)


def _decode_username(encoded: str) -> str:
    if _CANONICAL_BASE64.fullmatch(encoded) is None:
        offset = _illegal_base64_offset(encoded.encode("utf-8"))
        raise CorruptRecord(
            "bad_base64",
            f"failed to decode username: illegal base64 data at input byte {offset}",
        )
    # Only the alphabet and final padding are left, so this cannot fail.
    decoded = binascii.a2b_base64(encoded)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorruptRecord(
            "bad_base64",
            f"failed to decode username: not UTF-8 at decoded byte {error.start}",
        ) from error


def _illegal_base64_offset(data: bytes) -> int | None:
    """Return where Go's base64.StdEncoding.DecodeString would report corrupt input.

    A port of Go's decodeQuantum (encoding/base64), so the log line names the
    same byte as the original's, e.g. 5 for the article's "bWFya%!@#$WFuxy".
    One deliberate difference: Go skips '\\r' and '\\n', here they are illegal.
    """
    size = len(data)
    index = 0
    while index < size:
        filled = 0
        while filled < 4:
            if index == size:
                # Input ended inside a quantum: padding is mandatory.
                return index - filled
            byte = data[index]
            index += 1
            if byte in _BASE64_ALPHABET:
                filled += 1
                continue
            if byte != _PAD or filled < 2:
                return index - 1
            if filled == 2:
                # "xx=" must be followed by a second "=".
                if index == size:
                    return size
                if data[index] != _PAD:
                    return index - 1
                index += 1
            # Padding ends the input; anything after it is trailing garbage.
            return index if index < size else None
    return None
