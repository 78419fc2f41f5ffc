"""Choosing a favourite fruit and listing everyone's."""

from __future__ import annotations

from fruitsplit.core.fruits import FruitRow, check_choice
from fruitsplit.core.users import User
from fruitsplit.services.ports import FruitStore


class FruitService:
    def __init__(self, store: FruitStore) -> None:
        self._store = store

    async def choose_fruit(self, user: User, raw_fruit: str) -> str:
        """Validate and save `user`'s choice; return the stored fruit name.

        Raises InvalidFruit or SpecialFruitForbidden before anything is written.
        """
        fruit = check_choice(raw_fruit, is_super=user.is_super)
        await self._store.save(user.id, fruit)
        return fruit

    async def list_fruits(self) -> list[FruitRow]:
        return await self._store.fetch_all()
