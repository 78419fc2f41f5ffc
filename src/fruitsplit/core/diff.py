"""Comparing a SQLite row with its Redis record: the closed set of ways they can differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fruitsplit.core.errors import CorruptRecord
from fruitsplit.core.record import SEPARATOR, decode_record, encode_record

MismatchKind = Literal["missing", "extra", "corrupt", "different"]
MISMATCH_KINDS: tuple[MismatchKind, ...] = ("missing", "extra", "corrupt", "different")


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference; `message` is the operators' log line, in the original's words."""

    user_id: int
    kind: MismatchKind
    message: str


def compare(user_id: int, username: str, fruit: str, redis_value: str | None) -> Mismatch | None:
    """Compare the source row (`username`, `fruit`) with the raw Redis value, or None if equal."""
    if redis_value is None:
        # "redis: nil" is what the original's client said for a missing key.
        return Mismatch(user_id, "missing", f"failed to get record for user {user_id}: redis: nil")
    # The encoding is canonical, so equal text means an equal record; nearly every
    # comparison ends here, without decoding.
    if SEPARATOR not in fruit and redis_value == encode_record(username, fruit):
        return None
    try:
        record = decode_record(redis_value)
    except CorruptRecord as error:
        return Mismatch(user_id, "corrupt", f"{error.detail} (user {user_id}: {redis_value!r})")
    if record.username != username or record.fruit != fruit:
        return Mismatch(
            user_id, "different", f"mismatched record for user {user_id}: {redis_value}"
        )
    return None


def extra(user_id: int, redis_value: str | None) -> Mismatch:
    """A record in Redis for a user who has no fruit (or does not exist) in the source."""
    return Mismatch(user_id, "extra", f"unexpected record for user {user_id}: {redis_value}")
