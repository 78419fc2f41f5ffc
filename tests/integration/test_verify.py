"""The verifier and its repair (migration/verify.py), in process and as `fruits verify`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis.asyncio

from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.checkpoints import SqliteCheckpoints
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.config import MonolithSettings
from fruitsplit.core.copying import FruitPage
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.phases import Phase
from fruitsplit.core.record import encode_record
from fruitsplit.migration.copy import FruitCopy
from fruitsplit.migration.verify import Verifier, VerifyReport
from tests.support.population import insert_users
from tests.support.processes import free_port, run_cli

BAD_BASE64 = "bWFya%!@#$WFuxy:pineapple"


@dataclass
class Stores:
    db: SqliteDatabase
    fruits: SqliteFruits
    records: RedisFruitStore
    client: redis.asyncio.Redis

    async def verify(self, **kwargs: object) -> VerifyReport:
        return await Verifier(self.fruits, self.records).run(**kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def stores(settings: MonolithSettings) -> AsyncIterator[Stores]:
    db = SqliteDatabase(settings.db_file)
    await db.open()
    client = redis_client_from_endpoint(settings.redis_endpoint, None)
    try:
        yield Stores(db, SqliteFruits(db), RedisFruitStore(client), client)
    finally:
        await client.aclose()
        await db.close()


async def copy_all(stores: Stores) -> None:
    await FruitCopy(stores.fruits, stores.records, SqliteCheckpoints(stores.db)).run()


def without_fruit(*user_ids: int) -> Callable[[int], str | None]:
    return lambda user_id: None if user_id in user_ids else "banana"


async def spoil_every_way(stores: Stores, settings: MonolithSettings) -> None:
    """Users 1..30 (user 30 has no fruit), copied; then one or more of each difference."""
    insert_users(settings.db_file, 30, fruit=without_fruit(30))
    await copy_all(stores)
    client = stores.client
    await client.delete("user:2")  # missing
    await client.set("user:3", "dXNlcjM=:banana:x")  # corrupt: wrong shape
    await client.set("user:4", BAD_BASE64)  # corrupt: bad base64
    await client.set("user:5", encode_record("user5", "kiwi"))  # different fruit
    await client.set("user:30", encode_record("user30", "pear"))  # extra: user without fruit
    await client.set("user:5000", encode_record("ghost", "apple"))  # extra: no such user
    await client.set("user:abc", "not a record")  # extra: names no user at all
    await client.set("unrelated", "left alone")


async def test_verify_finds_nothing_when_the_stores_agree(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 500)
    await copy_all(stores)

    report = await stores.verify()

    assert report.is_consistent
    assert (report.sqlite_rows, report.redis_keys) == (500, 500)
    assert all(tally.found == 0 for tally in report.kinds.values())


async def test_verify_counts_each_kind_of_difference_with_examples(
    stores: Stores, settings: MonolithSettings
) -> None:
    await spoil_every_way(stores, settings)

    report = await stores.verify()

    assert not report.is_consistent
    found = {kind: tally.found for kind, tally in report.kinds.items()}
    assert found == {"missing": 1, "extra": 3, "corrupt": 2, "different": 1}
    assert (report.sqlite_rows, report.redis_keys) == (29, 31)
    messages = {kind: [e.message for e in tally.examples] for kind, tally in report.kinds.items()}
    assert messages["missing"] == ["failed to get record for user 2: redis: nil"]
    assert messages["different"] == [
        f"mismatched record for user 5: {encode_record('user5', 'kiwi')}"
    ]
    assert any(
        m.startswith("failed to decode username: illegal base64 data at input byte 5")
        for m in messages["corrupt"]
    )
    assert any(m.startswith("invalid record") for m in messages["corrupt"])
    extras = {example.key: example.user_id for example in report.kinds["extra"].examples}
    assert extras == {"user:30": 30, "user:5000": 5000, "user:abc": None}
    assert await stores.client.get("user:abc") == "not a record"  # verify alone changes nothing


async def test_verify_shows_at_most_the_examples_asked_for(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 20)

    report = await Verifier(stores.fruits, stores.records, examples=2).run()

    assert report.kinds["missing"].found == 20
    assert len(report.kinds["missing"].examples) == 2


async def test_repair_mends_every_difference_and_a_second_verify_is_clean(
    stores: Stores, settings: MonolithSettings
) -> None:
    await spoil_every_way(stores, settings)

    repaired = await stores.verify(repair=True, phase=Phase.DUAL_WRITE)

    assert repaired.is_consistent
    assert {kind: t.repaired for kind, t in repaired.kinds.items()} == {
        "missing": 1,
        "extra": 3,
        "corrupt": 2,
        "different": 1,
    }
    again = await stores.verify()
    assert again.is_consistent
    assert again.redis_keys == 29
    assert await stores.client.get("unrelated") == "left alone"
    assert await stores.client.get("user:4") == encode_record("user4", "banana")


def sqlite_fruits(db_file: Path) -> dict[int, str]:
    with sqlite3.connect(db_file) as conn:
        rows = conn.execute("SELECT user, fruit FROM fruits").fetchall()
    conn.close()
    return dict(rows)


@pytest.mark.parametrize("phase", [Phase.SERVICE_PRIMARY, Phase.SERVICE_ONLY])
async def test_after_cut_over_repair_mends_sqlite_from_redis(
    stores: Stores, settings: MonolithSettings, phase: Phase
) -> None:
    await spoil_every_way(stores, settings)

    report = await stores.verify(repair=True, phase=phase)

    fruits = sqlite_fruits(settings.db_file)
    assert fruits[5] == "kiwi"  # Redis's fruit wins
    assert 2 not in fruits  # Redis has no fruit for user 2 any more
    assert fruits[30] == "pear"  # a fruit only Redis had
    assert fruits[3] == fruits[4] == "banana"  # a corrupt record is never copied
    remaining = {kind: tally.remaining for kind, tally in report.kinds.items()}
    # Left: the two corrupt records, a record for a user SQLite does not know, and user:abc.
    assert remaining == {"missing": 0, "extra": 2, "corrupt": 2, "different": 0}
    # Redis, the source of truth, is left as it was.
    assert await stores.client.get("user:abc") == "not a record"
    assert await stores.client.get("user:4") == BAD_BASE64


async def test_verify_does_not_report_a_write_still_on_its_way(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 10)
    await copy_all(stores)
    # A dual write half done: SQLite has the new fruit, Redis not yet.
    version = await stores.fruits.save(7, "pear")
    in_flight = VersionedFruit(7, "user7", "pear", version)

    async def the_write_lands(seconds: float) -> None:
        await stores.records.put_versioned([in_flight])

    report = await Verifier(stores.fruits, stores.records, sleep=the_write_lands).run()

    assert report.is_consistent


class SourceWithLateFruit:
    """SQLite, where a user gets a fruit just after the verifier asked who has one."""

    def __init__(self, fruits: SqliteFruits, records: RedisFruitStore, user_id: int) -> None:
        self._fruits = fruits
        self._records = records
        self._user_id = user_id

    async def count(self) -> int:
        return await self._fruits.count()

    async def fetch_fruit_page(self, *, after_user_id: int, limit: int) -> FruitPage:
        return await self._fruits.fetch_fruit_page(after_user_id=after_user_id, limit=limit)

    async def fetch_versioned(self, user_ids: Sequence[int]) -> list[VersionedFruit]:
        return await self._fruits.fetch_versioned(user_ids)

    async def fetch_ids_with_fruit(self, user_ids: Sequence[int]) -> set[int]:
        answer = await self._fruits.fetch_ids_with_fruit(user_ids)
        if self._user_id in user_ids:
            # The user picks the very fruit the leftover record holds; the dual write lands.
            version = await self._fruits.save(self._user_id, "pear")
            fruit = VersionedFruit(self._user_id, f"user{self._user_id}", "pear", version)
            await self._records.put_versioned([fruit])
        return answer


async def test_repair_never_deletes_a_record_written_after_it_was_read(
    stores: Stores, settings: MonolithSettings
) -> None:
    insert_users(settings.db_file, 10, fruit=without_fruit(9))
    await copy_all(stores)
    await stores.client.set("user:9", encode_record("user9", "pear"))  # a leftover: extra
    source = SourceWithLateFruit(stores.fruits, stores.records, user_id=9)

    report = await Verifier(source, stores.records).run(repair=True, phase=Phase.DUAL_WRITE)

    assert report.kinds["extra"].found == 1
    assert report.kinds["extra"].repaired == 0
    assert await stores.client.get("user:9") == encode_record("user9", "pear")
    assert (await stores.verify()).is_consistent


# --- `fruits verify` as a process --------------------------------------------------------


@pytest.fixture
def env(settings: MonolithSettings, key_file: Path) -> dict[str, str]:
    return {
        "USE_DB_FILE": str(settings.db_file),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": settings.redis_endpoint,
    }


async def test_fruits_verify_prints_json_for_scripts_and_exits_1_on_differences(
    stores: Stores, settings: MonolithSettings, env: dict[str, str]
) -> None:
    await spoil_every_way(stores, settings)

    result = run_cli("fruits", "verify", "--json", "--examples", "1", env=env)

    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert set(report) == {
        "consistent",
        "repair",
        "sqlite_rows",
        "redis_keys",
        "elapsed_s",
        "kinds",
    }
    assert report["consistent"] is False
    assert list(report["kinds"]) == ["missing", "extra", "corrupt", "different"]
    assert report["kinds"]["extra"]["found"] == 3
    assert report["kinds"]["extra"]["remaining"] == 3
    [example] = report["kinds"]["missing"]["examples"]
    assert example == {
        "key": "user:2",
        "user_id": 2,
        "message": "failed to get record for user 2: redis: nil",
    }


async def test_fruits_verify_repair_then_verify_exits_0(
    stores: Stores, settings: MonolithSettings, env: dict[str, str]
) -> None:
    await spoil_every_way(stores, settings)

    repaired = run_cli("fruits", "verify", "--repair", env=env)
    again = run_cli("fruits", "verify", env=env)

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert again.returncode == 0, again.stdout
    table = again.stdout.splitlines()
    assert table[0].split() == ["kind", "found", "repaired", "remaining"]
    assert table[1].split() == ["missing", "0", "0", "0"]
    assert table[-1] == "consistent"


def test_fruits_verify_on_an_unreachable_redis_says_so_in_one_line_and_exits_2(
    env: dict[str, str],
) -> None:
    endpoint = f"127.0.0.1:{free_port()}"

    result = run_cli("fruits", "verify", env={**env, "USE_REDIS_ENDPOINT": endpoint})

    assert result.returncode == 2
    assert result.stderr.startswith(f"error: cannot reach Redis at {endpoint}: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_fruits_verify_repair_after_cut_over_mends_sqlite(
    settings: MonolithSettings, env: dict[str, str]
) -> None:
    insert_users(settings.db_file, 3)
    run_cli("fruits", "migrate", env=env)
    with sqlite3.connect(settings.db_file) as conn:
        conn.execute("INSERT INTO settings VALUES ('phase', 'service-primary', 0)")
        conn.execute("UPDATE fruits SET fruit = 'stale' WHERE user = 2")
    conn.close()

    assert run_cli("fruits", "verify", env=env).returncode == 1
    repaired = run_cli("fruits", "verify", "--repair", env=env)

    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert sqlite_fruits(settings.db_file)[2] != "stale"
    assert run_cli("fruits", "verify", env=env).returncode == 0
