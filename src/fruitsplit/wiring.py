"""Builds the long-lived components of each app from its settings, and closes them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import redis.asyncio

from fruitsplit.adapters.argon2_hasher import Argon2Hasher
from fruitsplit.adapters.fruits_client import FruitsClient, build_http_client
from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.signing import (
    TokenSigner,
    load_private_key,
    load_public_key_file,
)
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.accounts import SqliteAccounts
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.login_failures import SqliteLoginFailures
from fruitsplit.adapters.sqlite.outbox import SqliteOutbox
from fruitsplit.adapters.sqlite.sessions import SqliteSessions
from fruitsplit.adapters.sqlite.settings import SqliteSettings
from fruitsplit.adapters.token_verifier import Es512TokenVerifier
from fruitsplit.config import ConfigError, FruitsServiceSettings, MonolithSettings
from fruitsplit.core.fruits import FruitRow, ListedFruit
from fruitsplit.core.sessions import SessionPolicy
from fruitsplit.metrics import Metrics, ServiceMetrics
from fruitsplit.migration.relay import OutboxRelay
from fruitsplit.services.accounts import AccountService
from fruitsplit.services.fruit_records import FruitRecords
from fruitsplit.services.fruit_updates import (
    FruitService,
    build_fallback_candidate,
    build_shadow_candidate,
)
from fruitsplit.services.login_sessions import SessionService
from fruitsplit.services.phase import PhaseControl
from fruitsplit.services.shadow import Experiment
from fruitsplit.services.tokens import TokenService


def build_signer(settings: MonolithSettings) -> TokenSigner:
    """PRIVATE_KEY (PEM text) wins over PRIVATE_KEY_FILE, as in the original.

    A key file is watched, so a rotation (`fruits keygen --rotate`) takes effect
    without a restart; a key given as text changes only with a restart.
    """
    if settings.private_key is not None:
        return TokenSigner(
            load_private_key(settings.private_key.get_secret_value().encode(), source="PRIVATE_KEY")
        )
    return TokenSigner.from_file(settings.private_key_file)


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
    fallback_shadow: Experiment[list[ListedFruit]]
    fruits_http: httpx.AsyncClient
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
        await self.fallback_shadow.close()
        await self.fruits_http.aclose()
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
    signer = build_signer(settings)
    metrics = metrics or Metrics()
    db = SqliteDatabase(settings.db_file)
    redis_client = build_redis_client(settings)
    records = RedisFruitStore(redis_client)
    sqlite_fruits = SqliteFruits(db)
    phases = PhaseControl(SqliteSettings(db), clock, metrics, refresh_s=settings.phase_refresh_s)
    relay = OutboxRelay(sqlite_fruits, SqliteOutbox(db), records, metrics, clock)
    shadow: Experiment[list[FruitRow]] = Experiment(
        "page",
        build_shadow_candidate(sqlite_fruits, records),
        metrics=metrics,
        sample_percent=settings.shadow_sample_percent,
        strict=strict_shadow,
    )
    fallback_shadow: Experiment[list[ListedFruit]] = Experiment(
        "fallback",
        build_fallback_candidate(sqlite_fruits),
        metrics=metrics,
        sample_percent=settings.shadow_sample_percent,
        strict=strict_shadow,
    )
    fruits_http = build_http_client(settings.fruits_endpoint)
    tokens = TokenService(
        signer, lifetime=timedelta(seconds=settings.token_lifetime_s), clock=clock
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
        fallback_shadow=fallback_shadow,
        fruits_http=fruits_http,
        fruits=FruitService(
            sqlite_fruits,
            phases=phases,
            delivery=relay,
            shadow=shadow,
            service=FruitsClient(fruits_http),
            service_shadow=fallback_shadow,
            issue_token=tokens.issue,
            clock=clock,
        ),
        tokens=tokens,
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


@dataclass
class FruitsMicroservice:
    """The fruits service's components; its app closes them at shutdown."""

    settings: FruitsServiceSettings
    redis_client: redis.asyncio.Redis
    http_client: httpx.AsyncClient | None
    records: RedisFruitStore
    verifier: Es512TokenVerifier
    metrics: ServiceMetrics
    fruits: FruitRecords

    async def close(self) -> None:
        if self.http_client is not None:
            await self.http_client.aclose()
        await self.redis_client.aclose()


def build_fruits_service(
    settings: FruitsServiceSettings,
    *,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
    metrics: ServiceMetrics | None = None,
) -> FruitsMicroservice:
    """Wire the fruits service; raises SigningKeyError or ConfigError before anything starts.

    Nothing connects yet: Redis and the JWKS URL are first asked by a request.
    """
    key_file = settings.key_file()
    # Keys first: a bad key must stop start-up before any client exists.
    file_keys = load_public_key_file(key_file) if key_file is not None else []
    try:
        redis_client = redis_client_from_endpoint(
            settings.redis_endpoint, settings.redis_url, timeout_s=settings.redis_timeout_s
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    metrics = metrics or ServiceMetrics()
    http_client = None
    if settings.jwks_url is not None:
        http_client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.jwks_timeout_s),
            limits=httpx.Limits(max_connections=2),
            follow_redirects=False,
        )
    verifier = Es512TokenVerifier(
        file_keys,
        jwks_url=settings.jwks_url,
        http_client=http_client,
        leeway=timedelta(seconds=settings.token_leeway_s),
        clock=clock,
        monotonic=monotonic,
        cache_size=settings.token_cache_size,
        jwks_max_age_s=settings.jwks_max_age_s,
        jwks_cooldown_s=settings.jwks_cooldown_s,
        on_jwks_fetch=lambda outcome: metrics.jwks_fetches.labels(outcome).inc(),
    )
    records = RedisFruitStore(redis_client)
    return FruitsMicroservice(
        settings=settings,
        redis_client=redis_client,
        http_client=http_client,
        records=records,
        verifier=verifier,
        metrics=metrics,
        fruits=FruitRecords(records, verifier, metrics),
    )
