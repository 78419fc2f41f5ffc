"""Builds the long-lived components of each app from its settings, and closes them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import redis.asyncio
from cryptography.hazmat.primitives.asymmetric import ec

from fruitsplit.adapters.argon2_hasher import Argon2Hasher
from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.signing import (
    TokenSigner,
    load_private_key,
    load_private_key_file,
)
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.accounts import SqliteAccounts
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.login_failures import SqliteLoginFailures
from fruitsplit.adapters.sqlite.outbox import SqliteOutbox
from fruitsplit.adapters.sqlite.sessions import SqliteSessions
from fruitsplit.adapters.sqlite.settings import SqliteSettings
from fruitsplit.config import ConfigError, MonolithSettings
from fruitsplit.core.fruits import FruitRow
from fruitsplit.core.sessions import SessionPolicy
from fruitsplit.metrics import Metrics
from fruitsplit.migration.relay import OutboxRelay
from fruitsplit.services.accounts import AccountService
from fruitsplit.services.fruit_updates import FruitService, build_shadow_candidate
from fruitsplit.services.login_sessions import SessionService
from fruitsplit.services.phase import PhaseControl
from fruitsplit.services.shadow import Experiment
from fruitsplit.services.tokens import TokenService


def load_signing_key(settings: MonolithSettings) -> ec.EllipticCurvePrivateKey:
    """PRIVATE_KEY (PEM text) wins over PRIVATE_KEY_FILE, as in the original."""
    if settings.private_key is not None:
        return load_private_key(
            settings.private_key.get_secret_value().encode(), source="PRIVATE_KEY"
        )
    return load_private_key_file(settings.private_key_file)


def build_redis_client(settings: MonolithSettings) -> redis.asyncio.Redis:
    """REDIS_URL wins over USE_REDIS_ENDPOINT; raises ConfigError for a malformed one."""
    try:
        return redis_client_from_endpoint(
            settings.redis_endpoint, settings.redis_url, timeout_s=settings.redis_timeout_s
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None


@dataclass
class Monolith:
    settings: MonolithSettings
    db: SqliteDatabase
    redis_client: redis.asyncio.Redis
    records: RedisFruitStore
    metrics: Metrics
    accounts: AccountService
    sessions: SessionService
    phases: PhaseControl
    relay: OutboxRelay
    shadow: Experiment[list[FruitRow]]
    fruits: FruitService
    tokens: TokenService
    _relay_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _opened: bool = field(default=False, repr=False)

    async def open(self, *, run_relay: bool = True) -> None:
        await self.db.open()
        self._opened = True
        await self.phases.current()
        if run_relay:
            self._relay_task = asyncio.create_task(
                self.relay.run(interval_s=self.settings.outbox_relay_interval_s),
                name="outbox-relay",
            )

    async def close(self) -> None:
        if self._relay_task is not None:
            self._relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay_task
            self._relay_task = None
        await self.shadow.close()
        await self.redis_client.aclose()
        if self._opened:
            await self.db.close()
            self._opened = False


def build_monolith(
    settings: MonolithSettings,
    *,
    clock: Callable[[], float] = time.time,
    hasher: Argon2Hasher | None = None,
    metrics: Metrics | None = None,
    strict_shadow: bool = False,
) -> Monolith:
    """Wire the monolith; raises SigningKeyError or ConfigError before anything starts."""
    signer = TokenSigner(load_signing_key(settings))
    metrics = metrics or Metrics()
    db = SqliteDatabase(settings.db_file)
    redis_client = build_redis_client(settings)
    records = RedisFruitStore(redis_client)
    sqlite_fruits = SqliteFruits(db)
    phases = PhaseControl(SqliteSettings(db), clock, metrics)
    relay = OutboxRelay(sqlite_fruits, SqliteOutbox(db), records, metrics, clock)
    shadow: Experiment[list[FruitRow]] = Experiment(
        "page",
        build_shadow_candidate(sqlite_fruits, records),
        metrics=metrics,
        sample_percent=settings.shadow_sample_percent,
        strict=strict_shadow,
    )
    return Monolith(
        settings=settings,
        db=db,
        redis_client=redis_client,
        records=records,
        metrics=metrics,
        accounts=build_account_service(db, clock=clock, hasher=hasher),
        sessions=SessionService(
            SqliteSessions(db),
            SessionPolicy(
                idle_timeout_s=settings.session_idle_timeout_s,
                absolute_timeout_s=settings.session_absolute_timeout_s,
            ),
            clock,
        ),
        phases=phases,
        relay=relay,
        shadow=shadow,
        fruits=FruitService(
            sqlite_fruits, phases=phases, delivery=relay, shadow=shadow, clock=clock
        ),
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
