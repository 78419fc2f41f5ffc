"""RedisFruitStore and the client factory against a real redis-server."""

from __future__ import annotations

import time

import pytest
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError

from fruitsplit.adapters.redis_fruits import (
    RedisFruitStore,
    ScannedRecord,
    redis_client_from_endpoint,
)
from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.core.record import decode_record, encode_record


async def collect(store: RedisFruitStore, batch_size: int) -> list[list[ScannedRecord]]:
    return [batch async for batch in store.scan_records(batch_size=batch_size)]


async def test_put_writes_the_original_key_and_value(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put(1, "michael", "orange")

    assert await redis_client.get("user:1") == "bWljaGFlbA==:orange"


async def test_fetch_many_returns_raw_values_in_order_with_none_for_missing(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put_many([(1, "michael", "orange"), (3, "a:b", "kiwi"), (2, "zoë", "pear")])

    values = await fruit_store.fetch_many([3, 4, 1, 2])

    assert values == [
        encode_record("a:b", "kiwi"),
        None,
        "bWljaGFlbA==:orange",
        encode_record("zoë", "pear"),
    ]


async def test_fetch_many_and_put_many_accept_empty_input(fruit_store: RedisFruitStore) -> None:
    await fruit_store.put_many([])

    assert await fruit_store.fetch_many([]) == []
    assert await fruit_store.delete_many([]) == 0


async def test_fetch_many_returns_corrupt_values_untouched_for_the_caller_to_judge(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.set("user:3", "bWFya%!@#$WFuxy:pineapple")

    assert await fruit_store.fetch_many([3]) == ["bWFya%!@#$WFuxy:pineapple"]


async def test_put_many_writes_nothing_when_one_fruit_contains_the_separator(
    fruit_store: RedisFruitStore,
) -> None:
    with pytest.raises(ValueError, match="may not contain ':'"):
        await fruit_store.put_many([(1, "michael", "orange"), (2, "maria", "blood:orange")])

    assert await fruit_store.fetch_many([1, 2]) == [None, None]


async def test_put_many_overwrites_existing_records(fruit_store: RedisFruitStore) -> None:
    await fruit_store.put_many([(1, "michael", "orange")])
    await fruit_store.put_many([(1, "michael", "banana")])

    [value] = await fruit_store.fetch_many([1])
    assert value is not None
    assert decode_record(value).fruit == "banana"


async def test_delete_many_removes_records_and_counts_those_that_existed(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put_many([(1, "a", "apple"), (2, "b", "pear")])

    assert await fruit_store.delete_many([1, 2, 3]) == 2
    assert await fruit_store.fetch_many([1, 2]) == [None, None]


async def test_scan_records_yields_every_record_key_in_bounded_batches(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    records = [(user_id, f"user {user_id}", "apple") for user_id in range(1, 2001)]
    await fruit_store.put_many(records)
    await redis_client.set("user:abc", "not a record key")
    await redis_client.set("other:1", "foreign")

    batches = await collect(fruit_store, batch_size=150)

    assert all(0 < len(batch) <= 150 for batch in batches)
    seen = {key: (user_id, value) for batch in batches for user_id, key, value in batch}
    assert "other:1" not in seen
    assert seen.pop("user:abc") == (None, "not a record key")
    assert seen == {
        f"user:{user_id}": (user_id, encode_record(name, fruit)) for user_id, name, fruit in records
    }


async def test_scan_records_yields_nothing_from_an_empty_database(
    fruit_store: RedisFruitStore,
) -> None:
    assert await collect(fruit_store, batch_size=500) == []


async def test_scan_records_reports_none_for_a_key_of_another_type(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.hset("user:7", "fruit", "apple")

    assert await collect(fruit_store, batch_size=10) == [[(7, "user:7", None)]]


async def test_scan_records_keeps_going_past_a_value_that_is_not_utf8(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.set("user:8", b"\xff\xfe:apple")
    await fruit_store.put(9, "maria", "pear")

    seen = {key: value for batch in await collect(fruit_store, 10) for _, key, value in batch}

    assert seen == {"user:8": "\ufffd\ufffd:apple", "user:9": encode_record("maria", "pear")}


async def test_scan_records_refuses_a_batch_size_below_one(fruit_store: RedisFruitStore) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        await collect(fruit_store, batch_size=0)


async def test_put_if_unchanged_writes_when_the_value_is_still_the_expected_one(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put(1, "michael", "orange")

    assert await fruit_store.put_if_unchanged(1, "bWljaGFlbA==:orange", "michael", "pear")
    assert await fruit_store.fetch_many([1]) == ["bWljaGFlbA==:pear"]


async def test_put_if_unchanged_keeps_a_newer_write_made_since_the_read(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put(1, "michael", "orange")
    [read_by_copier] = await fruit_store.fetch_many([1])
    await fruit_store.put(1, "michael", "banana")  # the user's update, after the copier read

    assert not await fruit_store.put_if_unchanged(1, read_by_copier, "michael", "orange")
    assert await fruit_store.fetch_many([1]) == ["bWljaGFlbA==:banana"]


async def test_put_if_unchanged_with_none_writes_only_when_there_is_no_record(
    fruit_store: RedisFruitStore,
) -> None:
    assert await fruit_store.put_if_unchanged(1, None, "michael", "orange")
    assert not await fruit_store.put_if_unchanged(1, None, "michael", "pear")
    assert await fruit_store.fetch_many([1]) == ["bWljaGFlbA==:orange"]


async def test_put_if_unchanged_refuses_when_the_expected_record_was_deleted(
    fruit_store: RedisFruitStore,
) -> None:
    assert not await fruit_store.put_if_unchanged(1, "bWljaGFlbA==:orange", "michael", "pear")
    assert await fruit_store.fetch_many([1]) == [None]


async def test_put_if_unchanged_still_works_after_redis_forgets_its_scripts(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    assert await fruit_store.put_if_unchanged(1, None, "michael", "orange")
    await redis_client.script_flush()  # what a Redis restart or failover does

    assert await fruit_store.put_if_unchanged(1, "bWljaGFlbA==:orange", "michael", "kiwi")


async def test_put_if_unchanged_refuses_a_fruit_containing_the_separator(
    fruit_store: RedisFruitStore,
) -> None:
    with pytest.raises(ValueError, match="may not contain ':'"):
        await fruit_store.put_if_unchanged(1, None, "michael", "a:b")


async def test_ping_returns_when_redis_answers(fruit_store: RedisFruitStore) -> None:
    await fruit_store.ping()


async def test_client_from_url_reaches_the_server(redis_server: RedisServerProcess) -> None:
    client = redis_client_from_endpoint(None, redis_server.url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_client_uses_the_url_when_given_both(redis_server: RedisServerProcess) -> None:
    client = redis_client_from_endpoint("localhost:1", redis_server.url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def test_store_reuses_one_pooled_connection_across_commands(
    redis_client: redis.asyncio.Redis,
) -> None:
    store = RedisFruitStore(redis_client)
    connection_ids = set()
    for user_id in range(20):
        await store.put(user_id, "u", "apple")
        await store.fetch_many([user_id])
        await store.put_if_unchanged(user_id, None, "u", "pear")
        connection_ids.add(await redis_client.client_id())

    assert len(connection_ids) == 1


async def test_client_gives_up_with_connection_error_when_nothing_listens(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A port just freed by a stopped server: nothing listens there any more.
    server = RedisServerProcess(tmp_path_factory.mktemp("gone"), appendonly=False)
    with server:
        endpoint = server.endpoint
    client = redis_client_from_endpoint(endpoint, None, timeout_s=0.5)
    started = time.monotonic()
    try:
        with pytest.raises(RedisConnectionError):
            await client.ping()
    finally:
        await client.aclose()
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "endpoint",
    ["", "localhost", "localhost:", ":6379", "localhost:0", "localhost:65536", "localhost:+1",
     "local host:6379", "::1:6379", "redis://localhost:6379", "localhost:6379/0"],
)  # fmt: skip
def test_client_factory_refuses_a_malformed_endpoint_with_one_line(endpoint: str) -> None:
    with pytest.raises(ValueError, match=r"^Redis endpoint must be host:port") as caught:
        redis_client_from_endpoint(endpoint, None)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["http://localhost:6379", "redis://", "redis://localhost:notaport", "localhost:6379"]
)
def test_client_factory_refuses_a_malformed_url_without_echoing_it(url: str) -> None:
    with pytest.raises(ValueError, match="Redis URL") as caught:
        redis_client_from_endpoint(None, url)
    assert url not in str(caught.value)


def test_client_factory_refuses_to_build_without_endpoint_or_url() -> None:
    with pytest.raises(ValueError, match="no Redis endpoint or URL"):
        redis_client_from_endpoint(None, None)


def test_client_factory_refuses_a_timeout_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="timeout"):
        redis_client_from_endpoint("localhost:6379", None, timeout_s=0)
