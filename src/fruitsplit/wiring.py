"""Builds the long-lived components of each app from its settings, and closes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric import ec

from fruitsplit.adapters.argon2_hasher import Argon2Hasher
from fruitsplit.adapters.signing import (
    TokenSigner,
    load_private_key,
    load_private_key_file,
)
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.accounts import SqliteAccounts
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.login_failures import SqliteLoginFailures
from fruitsplit.adapters.sqlite.sessions import SqliteSessions
from fruitsplit.config import MonolithSettings
from fruitsplit.core.sessions import SessionPolicy
from fruitsplit.metrics import Metrics
from fruitsplit.services.accounts import AccountService
from fruitsplit.services.fruit_updates import FruitService
from fruitsplit.services.login_sessions import SessionService
from fruitsplit.services.tokens import TokenService


def load_signing_key(settings: MonolithSettings) -> ec.EllipticCurvePrivateKey:
    """PRIVATE_KEY (PEM text) wins over PRIVATE_KEY_FILE, as in the original."""
    if settings.private_key is not None:
        return load_private_key(
            settings.private_key.get_secret_value().encode(), source="PRIVATE_KEY"
        )
    return load_private_key_file(settings.private_key_file)


@dataclass
class Monolith:
    settings: MonolithSettings
    db: SqliteDatabase
    metrics: Metrics
    accounts: AccountService
    sessions: SessionService
    fruits: FruitService
    tokens: TokenService
    _opened: bool = field(default=False, repr=False)

    async def open(self) -> None:
        await self.db.open()
        self._opened = True

    async def close(self) -> None:
        if self._opened:
            await self.db.close()
            self._opened = False


def build_monolith(
    settings: MonolithSettings,
    *,
    clock: Callable[[], float] = time.time,
    hasher: Argon2Hasher | None = None,
    metrics: Metrics | None = None,
) -> Monolith:
    """Wire the monolith; raises SigningKeyError for a bad key before anything starts."""
    signer = TokenSigner(load_signing_key(settings))
    db = SqliteDatabase(settings.db_file)
    return Monolith(
        settings=settings,
        db=db,
        metrics=metrics or Metrics(),
        accounts=build_account_service(db, clock=clock, hasher=hasher),
        sessions=SessionService(
            SqliteSessions(db),
            SessionPolicy(
                idle_timeout_s=settings.session_idle_timeout_s,
                absolute_timeout_s=settings.session_absolute_timeout_s,
            ),
            clock,
        ),
        fruits=FruitService(SqliteFruits(db)),
        tokens=TokenService(
            signer, lifetime=timedelta(seconds=settings.token_lifetime_s), clock=clock
        ),
    )


def build_account_service(
    db: SqliteDatabase,
    *,
    clock: Callable[[], float] = time.time,
    hasher: Argon2Hasher | None = None,
) -> AccountService:
    return AccountService(
        SqliteAccounts(db), hasher or Argon2Hasher(), SqliteLoginFailures(db), clock
    )
