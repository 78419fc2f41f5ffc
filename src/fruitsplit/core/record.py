"""The Redis fruit record: its key `user:<id>` and its value `<base64 username>:<fruit>`.

Both formats are a contract with the original (Go) system, which writes keys
with `fmt.Sprintf("user:%d", id)` and values with `base64.StdEncoding` (padded)
of the username, a ':' and the fruit, and reads them back by splitting on ':'.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from fruitsplit.core.errors import CorruptRecord

RECORD_KEY_PREFIX = "user:"
# What SCAN MATCH selects; every key it selects must parse (see parse_record_key).
RECORD_KEY_PATTERN = RECORD_KEY_PREFIX + "*"
SEPARATOR = ":"

# ASCII digits only (str.isdigit also accepts "²" and "٣"), and no leading zero,
# so that exactly one key spells each id and record_key(parse_record_key(k)) == k.
_RECORD_KEY = re.compile(r"user:(0|[1-9][0-9]*)")
_BASE64_ALPHABET = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
)
_PAD = ord("=")


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
    return f"fruit-version:{{{record_key(user_id)}}}"


def parse_record_key(key: str) -> int | None:
    """Return the user id a record key names, or None if `key` is not exactly one.

    Strict: "user:" then ASCII decimal digits, no sign, space or leading zero.
    """
    match = _RECORD_KEY.fullmatch(key)
    return int(match.group(1)) if match else None


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
    raw = encoded.encode("utf-8")
    offset = _illegal_base64_offset(raw)
    if offset is not None:
        raise CorruptRecord(
            "bad_base64",
            f"failed to decode username: illegal base64 data at input byte {offset}",
        )
    try:
        decoded = base64.b64decode(raw, validate=True)
    except binascii.Error as error:  # pragma: no cover - the scan above rejects first
        raise CorruptRecord("bad_base64", f"failed to decode username: {error}") from error
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
