"""A copy between the stores: the pages it moves, where it stopped, and what its writes did."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.record import SEPARATOR


@dataclass(frozen=True, slots=True)
class FruitPage:
    """Versioned fruits column by column, in user id order.

    A copy moves millions of rows; held as four lists they cost no object per
    row, and the codec can work on whole columns.
    """

    user_ids: list[int] = field(default_factory=list)
    usernames: list[str] = field(default_factory=list)
    fruits: list[str] = field(default_factory=list)
    versions: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, rows: list[VersionedFruit]) -> FruitPage:
        return cls(
            [row.user_id for row in rows],
            [row.username for row in rows],
            [row.fruit for row in rows],
            [row.version for row in rows],
        )

    def __len__(self) -> int:
        return len(self.user_ids)

    def __iter__(self) -> Iterator[VersionedFruit]:
        for row in zip(self.user_ids, self.usernames, self.fruits, self.versions, strict=True):
            yield VersionedFruit(*row)

    def split_storable(self) -> tuple[FruitPage, list[int]]:
        """This page without the rows no record can hold, and the user ids of those rows.

        A row fits unless its username or fruit is NULL or its fruit holds the
        record separator ':' (the original let any fruit through).
        """
        try:
            # The common case, every row fits, checked in C: join() refuses a NULL (None).
            "".join(self.usernames)
            fits = SEPARATOR not in "".join(self.fruits)
        except TypeError:
            fits = False
        if fits:
            return self, []
        keep = [
            index
            for index, (username, fruit) in enumerate(zip(self.usernames, self.fruits, strict=True))
            if isinstance(username, str) and isinstance(fruit, str) and SEPARATOR not in fruit
        ]
        kept = set(keep)
        dropped = [uid for index, uid in enumerate(self.user_ids) if index not in kept]
        return (
            FruitPage(
                [self.user_ids[i] for i in keep],
                [self.usernames[i] for i in keep],
                [self.fruits[i] for i in keep],
                [self.versions[i] for i in keep],
            ),
            dropped,
        )


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Every fruit of a user with id up to `after_user_id` is copied; `copied` counts them."""

    after_user_id: int
    copied: int


@dataclass(frozen=True, slots=True)
class WriteTally:
    """What a batch of versioned writes did to the records it was given.

    `written`: the record now holds the fruit (it was missing, or older, or corrupt).
    `unchanged`: it held that fruit already, at that version or a newer one.
    `refused`: it holds a newer version, written by a live update since the fruit was read.
    """

    written: int = 0
    unchanged: int = 0
    refused: int = 0

    @property
    def total(self) -> int:
        return self.written + self.unchanged + self.refused

    def __add__(self, other: WriteTally) -> WriteTally:
        return WriteTally(
            self.written + other.written,
            self.unchanged + other.unchanged,
            self.refused + other.refused,
        )


@dataclass(frozen=True, slots=True)
class KeyState:
    """What one key under user:* held when read: its type, raw value and version key.

    `kind` is "absent", "string", or "other" (another type than a string, which
    nothing may store there). `raw` is the value of a string; `version` the raw
    version key of a record key (None when absent, or for a stray key).
    """

    key: str
    kind: str
    raw: str | None
    version: str | None


class UserIdBitmap:
    """A set of user ids, one bit each: a million ids take 125 kB.

    Ids from 0 to `capacity` - 1 can be added; others are left out (and read
    as absent), so a caller treats "absent" as "ask the database".
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._bits = bytearray()

    def add_all(self, user_ids: Iterable[int]) -> None:
        bits = self._bits
        for user_id in user_ids:
            if not 0 <= user_id < self.capacity:
                continue
            index = user_id >> 3
            if index >= len(bits):
                self._grow(index)
            bits[index] |= 1 << (user_id & 7)

    def add_range(self, first: int, stop: int) -> None:
        """Add the ids from `first` to `stop` - 1, whole bytes at a time (a page of
        consecutive ids, the common case, costs a few slice operations)."""
        first, stop = max(first, 0), min(stop, self.capacity)
        if first >= stop:
            return
        head_end = min(stop, (first + 7) & ~7)
        tail_start = max(head_end, stop & ~7)
        self.add_all(range(first, head_end))
        if tail_start > head_end:
            self._grow((tail_start >> 3) - 1)
            self._bits[head_end >> 3 : tail_start >> 3] = b"\xff" * ((tail_start - head_end) >> 3)
        self.add_all(range(tail_start, stop))

    def _grow(self, index: int) -> None:
        # Pages come in id order: grow by doubling, never past the capacity.
        bits = self._bits
        if index < len(bits):
            return
        room = (self.capacity + 7) // 8 - len(bits)
        bits.extend(bytes(min(room, max(index + 1 - len(bits), len(bits)))))

    def contains_each(self, user_ids: Iterable[int | None]) -> list[bool]:
        """Whether each id is in the set (None never is)."""
        bits, size = self._bits, len(self._bits) << 3
        return [
            user_id is not None
            and 0 <= user_id < size
            and bool(bits[user_id >> 3] >> (user_id & 7) & 1)
            for user_id in user_ids
        ]
