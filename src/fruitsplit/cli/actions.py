"""What both command lines do, each as one call that builds, uses and closes its components."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import uvicorn

from fruitsplit.adapters.redis_server import RedisServerError
from fruitsplit.adapters.signing import (
    SigningKeyError,
)
from fruitsplit.adapters.sqlite import SchemaError, SqliteDatabase
from fruitsplit.config import ConfigError, FruitsServiceSettings, MonolithSettings, settings_as_env
from fruitsplit.core.errors import FruitsError
from fruitsplit.core.users import User
from fruitsplit.services.accounts import AccountService
from fruitsplit.wiring import build_account_service, build_monolith

T = TypeVar("T")

# Errors an operator can act on: one line on stderr, no traceback.
OPERATOR_ERRORS = (
    FruitsError,
    ConfigError,
    SigningKeyError,
    SchemaError,
    RedisServerError,
    OSError,
)


def fail(message: str, *, code: int = 1) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    raise SystemExit(code)


def run_or_fail(action: Callable[[], T]) -> T:
    try:
        return action()
    except OPERATOR_ERRORS as exc:
        fail(str(exc))


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def with_accounts(settings: MonolithSettings, use: Callable[[AccountService], Awaitable[T]]) -> T:
    async def run() -> T:
        db = SqliteDatabase(settings.db_file)
        await db.open()
        try:
            return await use(build_account_service(db))
        finally:
            await db.close()

    return run_or_fail(lambda: asyncio.run(run()))


def create_user(settings: MonolithSettings, username: str, password: str) -> User:
    return with_accounts(settings, lambda accounts: accounts.create_user(username, password))


def set_super(settings: MonolithSettings, user_id: int, is_super: bool) -> None:
    with_accounts(settings, lambda accounts: accounts.set_super(user_id, is_super))


def list_users(settings: MonolithSettings) -> list[User]:
    return with_accounts(settings, lambda accounts: accounts.list_users())


def run_workers(
    factory: str, settings: MonolithSettings | FruitsServiceSettings, *, access_log: bool = True
) -> None:
    """Serve the app `factory` builds ("module:function") until interrupted.

    Workers build their own settings from the environment, so ours are handed
    down that way.
    """
    os.environ.update(settings_as_env(settings))
    uvicorn.run(
        factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level.lower(),
        access_log=access_log,
    )


def serve_monolith(settings: MonolithSettings) -> None:
    """Run the monolith until interrupted; bad keys or databases fail before it listens."""
    configure_logging(settings.log_level)
    # Loads the key and checks every setting; nothing connects yet.
    monolith = run_or_fail(lambda: build_monolith(settings))
    asyncio.run(monolith.close())
    # Applies schema migrations once, before any worker starts, and proves the file is usable.
    with_accounts(settings, lambda accounts: accounts.list_users())
    run_workers("fruitsplit.web.monolith.app:create_app_from_env", settings)
