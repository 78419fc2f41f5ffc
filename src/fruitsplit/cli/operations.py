"""The move to Redis from the command line: the phase, and draining the outbox."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from fruitsplit.adapters.redis_fruits import RedisFruitStore
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.outbox import SqliteOutbox
from fruitsplit.adapters.sqlite.settings import SqliteSettings
from fruitsplit.cli import migration
from fruitsplit.cli.actions import fail, run_or_fail
from fruitsplit.config import MonolithSettings
from fruitsplit.core.outbox import OutboxStats
from fruitsplit.core.phases import Phase, is_sqlite_source_of_truth, needs_agreeing_stores
from fruitsplit.metrics import Metrics
from fruitsplit.migration.relay import OutboxRelay
from fruitsplit.services.phase import PhaseControl
from fruitsplit.wiring import build_redis_client

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PhaseStatus:
    phase: Phase
    outbox: OutboxStats


def with_database(settings: MonolithSettings, use: Callable[[SqliteDatabase], Awaitable[T]]) -> T:
    async def run() -> T:
        db = SqliteDatabase(settings.db_file)
        await db.open()
        try:
            return await use(db)
        finally:
            await db.close()

    return run_or_fail(lambda: asyncio.run(run()))


def show_phase(settings: MonolithSettings) -> PhaseStatus:
    async def use(db: SqliteDatabase) -> PhaseStatus:
        phase = await PhaseControl(SqliteSettings(db), time.time, Metrics()).current()
        return PhaseStatus(phase, await SqliteOutbox(db).stats())

    return with_database(settings, use)


def switch_phase(settings: MonolithSettings, phase: Phase, *, force: bool = False) -> Phase:
    """Switch every worker to `phase` (within about a second); return the previous phase.

    A switch that changes which store holds the truth is refused while the stores
    differ, unless `force`.
    """
    current = show_phase(settings).phase
    if not force and needs_agreeing_stores(current, phase):
        report = migration.check_agreement(settings)
        if not report.is_consistent:
            differences = sum(tally.remaining for tally in report.kinds.values())
            mended = "Redis" if is_sqlite_source_of_truth(current) else "SQLite"
            fail(
                f"refusing to switch from {current} to {phase}: the stores differ"
                f" ({differences} differences). Run `fruits verify --repair` (in {current}"
                f" it mends {mended}), or pass --force"
            )

    async def use(db: SqliteDatabase) -> Phase:
        return await PhaseControl(SqliteSettings(db), time.time, Metrics()).switch(phase)

    return with_database(settings, use)


def drain_outbox(settings: MonolithSettings, *, timeout_s: float) -> OutboxStats:
    """Deliver every outbox entry now, back-off or not, until empty or `timeout_s` passed."""

    async def use(db: SqliteDatabase) -> OutboxStats:
        client = build_redis_client(settings)
        try:
            outbox = SqliteOutbox(db)
            relay = OutboxRelay(
                SqliteFruits(db), outbox, RedisFruitStore(client), Metrics(), time.time
            )
            deadline = time.monotonic() + timeout_s
            while True:
                await relay.drain(due_by=math.inf)
                stats = await outbox.stats()
                if stats.depth == 0 or time.monotonic() >= deadline:
                    return stats
                await asyncio.sleep(0.5)
        finally:
            await client.aclose()

    return with_database(settings, use)
