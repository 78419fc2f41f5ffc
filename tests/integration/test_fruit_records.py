"""The fruits service's use cases against a real Redis: coalesced reads and remembered decodes."""

import asyncio

import pytest
import redis.asyncio

from fruitsplit.adapters.redis_fruits import RedisFruitStore
from fruitsplit.core.errors import CorruptRecord, RecordNotFound
from fruitsplit.core.record import FruitRecord, encode_record
from fruitsplit.metrics import ServiceMetrics
from fruitsplit.services.fruit_records import FruitRecords


class NoTokens:
    async def verify(self, token: str) -> object:
        raise AssertionError("these tests read only")


@pytest.fixture
def records(fruit_store: RedisFruitStore) -> FruitRecords:
    return FruitRecords(fruit_store, NoTokens(), ServiceMetrics())  # type: ignore[arg-type]


async def mget_calls(client: redis.asyncio.Redis) -> int:
    stats = await client.info("commandstats")
    return int(stats.get("cmdstat_mget", {}).get("calls", 0))


async def test_reads_asked_for_together_go_to_redis_as_one_mget(
    records: FruitRecords, fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_many([(user_id, f"u{user_id}", "pear") for user_id in range(20)])
    await redis_client.config_resetstat()

    results = await asyncio.gather(
        *(records.fetch_record(user_id % 20) for user_id in range(50)),
        records.fetch_record(99),
        return_exceptions=True,
    )

    assert results[:50] == [FruitRecord(f"u{user_id % 20}", "pear") for user_id in range(50)]
    assert isinstance(results[50], RecordNotFound)
    assert await mget_calls(redis_client) == 1


async def test_a_read_after_a_write_sees_the_write(
    records: FruitRecords, fruit_store: RedisFruitStore
) -> None:
    await fruit_store.put(1, "michael", "orange")
    assert await records.fetch_record(1) == FruitRecord("michael", "orange")

    await fruit_store.put(1, "michael", "pear")

    assert await records.fetch_record(1) == FruitRecord("michael", "pear")


async def test_a_corrupt_record_is_reported_every_time_it_is_read(
    records: FruitRecords, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.set("user:3", "bWFya%!@#$WFuxy:pineapple")
    for _ in range(2):
        with pytest.raises(CorruptRecord, match="record of user 3 is corrupt"):
            await records.fetch_record(3)
    assert await records.list_records() == []


async def test_a_key_of_another_type_reads_as_no_record_beside_good_ones(
    records: FruitRecords, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.hset("user:5", "fruit", "kiwi")
    await redis_client.set("user:6", encode_record("anna", "kiwi"))

    results = await asyncio.gather(
        records.fetch_record(5), records.fetch_record(6), return_exceptions=True
    )

    assert isinstance(results[0], RecordNotFound)
    assert results[1] == FruitRecord("anna", "kiwi")
