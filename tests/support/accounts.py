"""Adding users straight into a test database, through the same service the CLI uses."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.config import MonolithSettings
from fruitsplit.core.users import User
from fruitsplit.wiring import build_account_service
from tests.support.monolith import fast_hasher


def add_user(
    settings: MonolithSettings,
    username: str,
    password: str = "correct horse",
    *,
    is_super: bool = False,
    fruit: str | None = None,
) -> User:
    """Create a user (and its fruit) with its own connection, as another process would.

    Runs on a thread of its own, so that it works beside any running event loop
    (an async test's, or the one Playwright's sync API keeps).
    """

    async def run() -> User:
        db = SqliteDatabase(settings.db_file)
        await db.open()
        try:
            accounts = build_account_service(db, hasher=fast_hasher())
            user = await accounts.create_user(username, password)
            if is_super:
                await accounts.set_super(user.id, True)
                user = User(user.id, user.username, True)
            if fruit is not None:
                await SqliteFruits(db).save(user.id, fruit)
            return user
        finally:
            await db.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()
