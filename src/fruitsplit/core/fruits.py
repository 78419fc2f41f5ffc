"""Which fruits exist, which are special, and who may choose them."""

from __future__ import annotations

from dataclasses import dataclass

from fruitsplit.core.errors import InvalidFruit, SpecialFruitForbidden

# The page's picker, in the original's order.
FRUITS: tuple[str, ...] = ("apple", "banana", "orange", "pear", "pineapple", "kiwi")
SPECIAL_FRUITS: frozenset[str] = frozenset({"pineapple", "kiwi"})
MAX_FRUIT_LENGTH = 32


@dataclass(frozen=True, slots=True)
class FruitRow:
    """One user's favourite fruit, as the page lists it."""

    user_id: int
    username: str
    fruit: str


@dataclass(frozen=True, slots=True)
class ListedFruit:
    """A fruit as the fruits service lists it: by username, without the user's id."""

    username: str
    fruit: str


@dataclass(frozen=True, slots=True)
class VersionedFruit:
    """A user's fruit with the version of the write that set it (0: written before versions)."""

    user_id: int
    username: str
    fruit: str
    version: int


def normalize_fruit(raw: str) -> str:
    """Return the canonical fruit name or raise InvalidFruit.

    Letters and inner spaces only, so a ':' (the record separator) can never
    reach a stored record.
    """
    fruit = " ".join(part for part in raw.strip().lower().split(" ") if part)
    if not fruit:
        raise InvalidFruit("fruit is required")
    if len(fruit) > MAX_FRUIT_LENGTH:
        raise InvalidFruit(f"fruit must be at most {MAX_FRUIT_LENGTH} characters")
    if not all(ch.isalpha() or ch == " " for ch in fruit):
        raise InvalidFruit("fruit may contain only letters and spaces")
    return fruit


def is_special(fruit: str) -> bool:
    return fruit in SPECIAL_FRUITS


def may_choose(fruit: str, *, is_super: bool) -> bool:
    return is_super or not is_special(fruit)


def check_choice(raw: str, *, is_super: bool) -> str:
    """Normalize `raw` and check the user may choose it; return the fruit to store."""
    fruit = normalize_fruit(raw)
    if not may_choose(fruit, is_super=is_super):
        raise SpecialFruitForbidden(fruit)
    return fruit
