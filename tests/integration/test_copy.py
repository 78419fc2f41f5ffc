"""The copy from SQLite to Redis (migration/copy.py) over a real SQLite file and redis-server."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import redis.asyncio

from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.checkpoints import SqliteCheckpoints
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.config import MonolithSettings
from fruitsplit.core.copying import Checkpoint, FruitPage, WriteTally
from fruitsplit.core.errors import UnavailableInPhase
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.phases import Phase
from fruitsplit.core.record import encode_record
from fruitsplit.migration.copy import COPY_CHECKPOINT, FruitCopy, check_copy_allowed
from tests.support.population import insert_users, plain_fruit
from tests.support.processes import free_port, run_cli


@dataclass
class Stores:
    fruits: SqliteFruits
    records: RedisFruitStore
    checkpoints: SqliteCheckpoints
    client: redis.asyncio.Redis

    def copy(self, **kwargs: object) -> FruitCopy:
        return FruitCopy(self.fruits, self.records, self.checkpoints, **kwargs)  # type: ignore[arg-type]

    async def redis_values(self, user_ids: list[int]) -> list[str | None]:
        return await self.records.fetch_many(user_ids)


@pytest.fixture
async def stores(settings: MonolithSettings) -> AsyncIterator[Stores]:
    db = SqliteDatabase(settings.db_file)
    await db.open()
    client = redis_client_from_endpoint(settings.redis_endpoint, None)
    try:
        yield Stores(SqliteFruits(db), RedisFruitStore(client), SqliteCheckpoints(db), client)
    finally:
        await client.aclose()
        await db.close()


def expected(user_ids: list[int]) -> list[str]:
    return [encode_record(f"user{user_id}", plain_fruit(user_id)) for user_id in user_ids]


class FakeClock:
    """Monotonic time that moves only when the copy sleeps, and a log of what it did when."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_copy_writes_every_fruit_in_the_originals_format(
    stores: Stores, settings: MonolithSettings
) -> None:
    ids = insert_users(settings.db_file, 1234)

    report = await stores.copy().run(batch_size=100)

    assert report.copied == 1234
    assert report.tally == WriteTally(written=1234)
    assert await stores.redis_values(ids) == expected(ids)
    assert await stores.client.get("user:1") == "dXNlcjE=:banana"


async def test_copy_again_changes_nothing_and_says_so(
    stores: Stores, settings: MonolithSettings
) -> None:
    ids = insert_users(settings.db_file, 300)
    await stores.copy().run(batch_size=64)

    again = await stores.copy().run(batch_size=64)

    assert again.tally == WriteTally(unchanged=300)
    assert await stores.redis_values(ids) == expected(ids)


async def test_dry_run_counts_what_would_change_and_writes_nothing(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 50)
    await stores.records.put_many([(1, "user1", "banana"), (2, "user2", "kiwi")])

    report = await stores.copy().run(batch_size=16, dry_run=True)

    assert report.dry_run
    assert report.tally == WriteTally(written=49, unchanged=1)
    assert sorted(await stores.client.keys("*")) == ["user:1", "user:2"]
    assert await stores.checkpoints.fetch(COPY_CHECKPOINT) is None


async def test_copy_keeps_to_its_rate_limit(stores: Stores, settings: MonolithSettings) -> None:
    insert_users(settings.db_file, 1000)
    clock = FakeClock()
    timeline: list[tuple[float, int]] = []

    report = await stores.copy(clock=clock, sleep=clock.sleep).run(
        max_rate=200.0, progress=lambda done, total: timeline.append((clock(), done))
    )

    assert report.copied == 1000
    # A first burst of one paced page (0.1 s of work: 20 records), then 200 per second.
    assert report.elapsed_s == pytest.approx((1000 - 20) / 200.0, abs=0.2)
    assert all(done <= 20 + 200.0 * at + 1e-6 for at, done in timeline)


async def test_copy_resumes_where_an_interrupted_run_stopped(
    stores: Stores, settings: MonolithSettings
) -> None:
    ids = insert_users(settings.db_file, 1000)

    def stop_midway(done: int, total: int) -> None:
        if done >= 400:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await stores.copy().run(batch_size=100, progress=stop_midway)
    checkpoint = await stores.checkpoints.fetch(COPY_CHECKPOINT)
    assert checkpoint is not None
    assert checkpoint.copied == checkpoint.after_user_id >= 400
    assert None in await stores.redis_values(ids)  # not all of it yet

    resumed = await stores.copy().run(batch_size=100)

    assert resumed.resumed_from == checkpoint
    assert resumed.copied == 1000
    # It goes through only what the first run had not finished (a page that was on
    # its way when the first run stopped may be in Redis already: it is unchanged).
    assert resumed.tally.total == 1000 - checkpoint.copied
    assert resumed.tally.written >= 1000 - checkpoint.copied - 100
    assert await stores.redis_values(ids) == expected(ids)
    assert await stores.checkpoints.fetch(COPY_CHECKPOINT) is None


async def test_restart_starts_over_and_ignores_the_checkpoint(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 100)
    await stores.checkpoints.store(COPY_CHECKPOINT, Checkpoint(after_user_id=90, copied=90), 0.0)

    report = await stores.copy().run(batch_size=10, restart=True)

    assert report.resumed_from is None
    assert report.tally == WriteTally(written=100)


class SourceWithLiveWrites:
    """The real SQLite fruits, with a user changing a fruit right after the copy read a page.

    The change goes as a dual write does: SQLite first (a new version), then Redis.
    """

    def __init__(self, fruits: SqliteFruits, records: RedisFruitStore, user_id: int) -> None:
        self._fruits = fruits
        self._records = records
        self._user_id = user_id

    async def count(self) -> int:
        return await self._fruits.count()

    async def fetch_fruit_page(self, *, after_user_id: int, limit: int) -> FruitPage:
        page = await self._fruits.fetch_fruit_page(after_user_id=after_user_id, limit=limit)
        if self._user_id in page.user_ids:
            version = await self._fruits.save(self._user_id, "pear")
            name = f"user{self._user_id}"
            await self._records.put_versioned(
                [VersionedFruit(self._user_id, name, "pear", version)]
            )
        return page

    async def fetch_versioned(self, user_ids: Sequence[int]) -> list[VersionedFruit]:
        return await self._fruits.fetch_versioned(user_ids)

    async def fetch_ids_with_fruit(self, user_ids: Sequence[int]) -> set[int]:
        return await self._fruits.fetch_ids_with_fruit(user_ids)


@pytest.mark.parametrize("redis_had_a_copy", [False, True])
async def test_copy_keeps_a_write_made_during_copy(
    stores: Stores, settings: MonolithSettings, redis_had_a_copy: bool
) -> None:
    insert_users(settings.db_file, 40)
    if redis_had_a_copy:
        await stores.copy().run()
    source = SourceWithLiveWrites(stores.fruits, stores.records, user_id=17)

    report = await FruitCopy(source, stores.records, stores.checkpoints).run(batch_size=10)

    assert report.tally.refused == 1
    assert await stores.redis_values([17]) == [encode_record("user17", "pear")]


async def test_copy_skips_rows_no_record_can_hold_and_copies_the_rest(
    stores: Stores, settings: MonolithSettings, caplog: pytest.LogCaptureFixture
) -> None:
    insert_users(
        settings.db_file, 10, fruit=lambda user_id: "blood:orange" if user_id == 4 else "kiwi"
    )

    with caplog.at_level(logging.WARNING, logger="fruitsplit.copy"):
        report = await stores.copy().run()

    assert (report.copied, report.skipped) == (10, 1)
    assert report.tally == WriteTally(written=9)
    assert await stores.redis_values([4]) == [None]
    assert "users 4" in caplog.text


async def test_copy_of_an_empty_database_copies_nothing(stores: Stores) -> None:
    report = await stores.copy().run()

    assert (report.copied, report.tally) == (0, WriteTally())


@pytest.mark.parametrize("phase", [Phase.SERVICE_PRIMARY, Phase.SERVICE_ONLY])
def test_copy_is_refused_once_redis_is_the_source_of_truth(phase: Phase) -> None:
    with pytest.raises(UnavailableInPhase, match=f"in phase {phase}: Redis is the source"):
        check_copy_allowed(phase)


# --- `fruits migrate` and `monolith -migrate` as processes -------------------------------


@pytest.fixture
def env(settings: MonolithSettings, key_file: Path) -> dict[str, str]:
    return {
        "USE_DB_FILE": str(settings.db_file),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": settings.redis_endpoint,
    }


def test_monolith_migrate_ends_with_the_originals_line(
    settings: MonolithSettings, env: dict[str, str]
) -> None:
    insert_users(settings.db_file, 25)

    result = run_cli("monolith", "-migrate", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "migrated 25 records to redis\n"
    assert "25 written, 0 unchanged, 0 newer in Redis" in result.stderr


def test_fruits_migrate_dry_run_says_what_would_change_and_writes_nothing(
    settings: MonolithSettings, env: dict[str, str], empty_redis: RedisServerProcess
) -> None:
    insert_users(settings.db_file, 25)

    result = run_cli("fruits", "migrate", "--dry-run", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "dry run: 25 records checked, 25 would be written, 0 unchanged; nothing was written"
    )
    with redis.Redis(port=empty_redis.port) as store:
        assert store.dbsize() == 0


def test_fruits_migrate_on_an_unreachable_redis_says_so_in_one_line_and_exits_2(
    env: dict[str, str],
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"

    result = run_cli("monolith", "-migrate", env={**env, "USE_REDIS_ENDPOINT": endpoint})

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot reach Redis at {endpoint}: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_fruits_migrate_after_cut_over_is_refused_in_one_line(
    settings: MonolithSettings, env: dict[str, str]
) -> None:
    insert_users(settings.db_file, 3)
    run_cli("fruits", "phase", env=env)  # brings the schema up to date
    with sqlite3.connect(settings.db_file) as conn:
        conn.execute("INSERT INTO settings VALUES ('phase', 'service-only', 0)")
    conn.close()

    result = run_cli("fruits", "migrate", env=env)

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: cannot copy SQLite to Redis in phase service-only: Redis is the source of"
        " truth there, and a copy would go against it"
    )
