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
from fruitsplit.core.copying import FruitPage, KeyState, WriteTally
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.paging import START, ScanPosition
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


async def test_put_next_version_writes_the_record_and_counts_versions_from_one(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    assert await fruit_store.put_next_version(1, "michael", "orange") == 1
    assert await fruit_store.put_next_version(1, "michael", "pear") == 2

    assert await redis_client.get("user:1") == encode_record("michael", "pear")
    assert await redis_client.get("fruit-version:{user:1}") == "2"


async def test_put_next_version_orders_after_the_monolith_s_versioned_writes(
    fruit_store: RedisFruitStore,
) -> None:
    assert await fruit_store.put_versioned([VersionedFruit(1, "michael", "apple", 9)]) == [True]

    assert await fruit_store.put_next_version(1, "michael", "pear") == 10
    # The monolith's retry of its version 9 is older than the service's write.
    assert await fruit_store.put_versioned([VersionedFruit(1, "michael", "apple", 9)]) == [False]
    assert await fruit_store.fetch_one(1) == encode_record("michael", "pear")


@pytest.mark.parametrize("held", ["garbage", "-3", "1.5", "99999999999999999999"])
async def test_put_next_version_starts_again_at_one_over_a_version_no_writer_sets(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis, held: str
) -> None:
    await redis_client.set("fruit-version:{user:1}", held)

    assert await fruit_store.put_next_version(1, "michael", "pear") == 1
    assert await fruit_store.fetch_one(1) == encode_record("michael", "pear")


async def test_put_next_version_refuses_a_fruit_containing_the_separator(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    with pytest.raises(ValueError, match="may not contain"):
        await fruit_store.put_next_version(1, "michael", "blood:orange")
    assert await redis_client.keys("*") == []


async def test_fetch_one_returns_the_raw_value_or_none(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put(1, "michael", "orange")
    await redis_client.hset("user:2", "fruit", "kiwi")

    assert await fruit_store.fetch_one(1) == "bWljaGFlbA==:orange"
    assert await fruit_store.fetch_one(2) is None
    assert await fruit_store.fetch_one(3) is None


async def walk_pages(
    store: RedisFruitStore, limit: int, position: ScanPosition | None = START
) -> list[list[ScannedRecord]]:
    pages = []
    while position is not None:
        records, position = await store.scan_page(position, limit)
        # Pages hold whole SCAN steps: past the limit only by one bucket's few keys.
        assert len(records) <= max(2 * limit, limit + 4)
        pages.append(records)
    return pages


@pytest.mark.parametrize("limit", [1, 7, 199, 200, 201, 1000])
async def test_scan_page_walks_every_key_when_nothing_changes(
    fruit_store: RedisFruitStore, limit: int
) -> None:
    await fruit_store.put_many([(user_id, f"u{user_id}", "pear") for user_id in range(600)])
    await fruit_store.put_next_version(5, "u5", "kiwi")  # a version key beside the records

    pages = await walk_pages(fruit_store, limit)

    keys = [key for page in pages for _, key, _ in page]
    assert set(keys) == {f"user:{user_id}" for user_id in range(600)}
    assert len(keys) == 600


async def test_scan_page_returns_a_key_at_least_once_when_its_step_changes_between_pages(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_many([(user_id, f"u{user_id}", "pear") for user_id in range(100)])
    first, position = await fruit_store.scan_page(START, 10)
    assert position is not None
    # The last key returned disappears: the next page starts its step again.
    await redis_client.delete(first[-1][1])

    rest = [key for page in await walk_pages(fruit_store, 10, position) for _, key, _ in page]

    returned = {key for _, key, _ in first} | set(rest)
    assert returned == {f"user:{user_id}" for user_id in range(100)}


async def test_scan_page_ends_at_once_on_an_empty_database(fruit_store: RedisFruitStore) -> None:
    assert await fruit_store.scan_page(START, 10) == ([], None)


async def test_scan_page_refuses_a_limit_below_one(fruit_store: RedisFruitStore) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await fruit_store.scan_page(START, 0)


# --- bulk writes, inspection and compare-and-delete (the copy and the verifier) -------


def page(*fruits: VersionedFruit) -> FruitPage:
    return FruitPage.of(list(fruits))


async def test_put_versioned_bulk_writes_the_originals_rows_with_no_version_key(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    rows = [VersionedFruit(user_id, f"user {user_id}", "apple", 0) for user_id in range(1, 1201)]

    tally = await fruit_store.put_versioned_bulk(FruitPage.of(rows))

    assert tally == WriteTally(written=1200)
    assert await redis_client.get("user:1") == encode_record("user 1", "apple")
    # Version 0 is what a missing version key means: a first copy writes one key per user.
    assert await redis_client.keys("fruit-version:*") == []


async def test_put_versioned_bulk_again_changes_nothing_and_says_so(
    fruit_store: RedisFruitStore,
) -> None:
    fruits = page(VersionedFruit(1, "michael", "orange", 0), VersionedFruit(2, "zoë", "kiwi", 3))
    assert await fruit_store.put_versioned_bulk(fruits) == WriteTally(written=2)

    assert await fruit_store.put_versioned_bulk(fruits) == WriteTally(unchanged=2)


async def test_put_versioned_bulk_never_replaces_a_newer_version(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put_versioned([VersionedFruit(1, "michael", "pear", 5)])

    tally = await fruit_store.put_versioned_bulk(
        page(VersionedFruit(1, "michael", "apple", 4), VersionedFruit(2, "anna", "kiwi", 0))
    )

    assert tally == WriteTally(written=1, refused=1)
    assert await fruit_store.fetch_many([1, 2]) == [
        encode_record("michael", "pear"),
        encode_record("anna", "kiwi"),
    ]


async def test_put_versioned_bulk_keeps_a_live_write_that_beat_the_copy_to_an_original_row(
    fruit_store: RedisFruitStore,
) -> None:
    # The user changed the fruit (version 1) after the copy read the original's row
    # (version 0), and the dual write landed first: the copy's MSETNX is refused.
    await fruit_store.put_versioned([VersionedFruit(2, "anna", "pear", 1)])
    stale = [VersionedFruit(user_id, f"u{user_id}", "apple", 0) for user_id in range(1, 4)]

    tally = await fruit_store.put_versioned_bulk(FruitPage.of(stale))

    assert tally == WriteTally(written=2, refused=1)
    assert await fruit_store.fetch_many([1, 2, 3]) == [
        encode_record("u1", "apple"),
        encode_record("anna", "pear"),
        encode_record("u3", "apple"),
    ]


async def test_put_versioned_bulk_mends_a_corrupt_record_at_the_same_version(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_versioned([VersionedFruit(3, "marian", "pineapple", 2)])
    await redis_client.set("user:3", "bWFya%!@#$WFuxy:pineapple")
    await redis_client.hset("user:4", "fruit", "apple")  # a key of another type

    tally = await fruit_store.put_versioned_bulk(
        page(VersionedFruit(3, "marian", "pineapple", 2), VersionedFruit(4, "anna", "pear", 0))
    )

    assert tally == WriteTally(written=2)
    assert await fruit_store.fetch_many([3, 4]) == [
        encode_record("marian", "pineapple"),
        encode_record("anna", "pear"),
    ]


async def test_put_versioned_bulk_stores_the_version_it_wrote(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_versioned_bulk(page(VersionedFruit(1, "michael", "orange", 6)))

    assert await redis_client.get("fruit-version:{user:1}") == "6"
    assert await fruit_store.put_versioned([VersionedFruit(1, "michael", "kiwi", 5)]) == [False]


async def test_put_versioned_bulk_refuses_a_fruit_holding_the_separator_before_writing(
    fruit_store: RedisFruitStore,
) -> None:
    with pytest.raises(ValueError, match="may not contain ':'"):
        await fruit_store.put_versioned_bulk(
            page(VersionedFruit(1, "michael", "orange", 0), VersionedFruit(2, "a", "b:c", 0))
        )

    assert await fruit_store.fetch_many([1, 2]) == [None, None]


async def test_put_versioned_bulk_of_an_empty_page_sends_nothing(
    fruit_store: RedisFruitStore,
) -> None:
    assert await fruit_store.put_versioned_bulk(FruitPage()) == WriteTally()


async def test_fetch_many_reads_more_ids_than_one_command_holds(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put_many([(user_id, "u", "apple") for user_id in range(0, 2500, 2)])

    values = await fruit_store.fetch_many(list(range(2500)))

    assert values == [encode_record("u", "apple") if i % 2 == 0 else None for i in range(2500)]


async def test_scan_keys_yields_every_key_under_user_and_no_values(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_many([(user_id, "u", "apple") for user_id in range(1, 301)])
    await redis_client.set("user:abc", "x")
    await redis_client.set("fruit-version:{user:1}", "3")

    batches = [batch async for batch in fruit_store.scan_keys(batch_size=50)]

    assert all(0 < len(batch) <= 50 for batch in batches)
    keys = {key for batch in batches for key in batch}
    assert keys == {f"user:{user_id}" for user_id in range(1, 301)} | {"user:abc"}


async def test_inspect_keys_reads_type_value_and_version_of_each_key(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await fruit_store.put_versioned([VersionedFruit(1, "michael", "orange", 4)])
    await redis_client.set("user:abc", "x")
    await redis_client.hset("user:2", "fruit", "apple")

    states = await fruit_store.inspect_keys(["user:1", "user:abc", "user:2", "user:3"])

    assert states == [
        KeyState("user:1", "string", encode_record("michael", "orange"), "4"),
        KeyState("user:abc", "string", "x", None),
        KeyState("user:2", "other", None, None),
        KeyState("user:3", "absent", None, None),
    ]


async def test_delete_if_unchanged_deletes_a_record_still_as_it_was_read(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put(9, "ghost", "apple")
    [state] = await fruit_store.inspect_keys(["user:9"])

    assert await fruit_store.delete_if_unchanged(9, state.raw, state.version)
    assert await fruit_store.fetch_many([9]) == [None]


async def test_delete_if_unchanged_keeps_a_record_written_again_with_the_same_value(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put_versioned([VersionedFruit(9, "ghost", "apple", 1)])
    [state] = await fruit_store.inspect_keys(["user:9"])
    # The user sets the very same fruit again after the read: only the version tells.
    await fruit_store.put_versioned([VersionedFruit(9, "ghost", "apple", 2)])

    assert not await fruit_store.delete_if_unchanged(9, state.raw, state.version)
    assert await fruit_store.fetch_many([9]) == [encode_record("ghost", "apple")]


async def test_delete_if_unchanged_keeps_a_record_whose_value_changed(
    fruit_store: RedisFruitStore,
) -> None:
    await fruit_store.put(9, "ghost", "apple")
    [state] = await fruit_store.inspect_keys(["user:9"])
    await fruit_store.put(9, "ghost", "pear")

    assert not await fruit_store.delete_if_unchanged(9, state.raw, state.version)


async def test_delete_if_unchanged_removes_a_key_of_another_type_when_expected(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.hset("user:5", "fruit", "apple")

    assert await fruit_store.delete_if_unchanged(5, None, None)
    assert await redis_client.exists("user:5") == 0


async def test_delete_stray_if_unchanged_removes_a_key_that_names_no_user(
    fruit_store: RedisFruitStore, redis_client: redis.asyncio.Redis
) -> None:
    await redis_client.set("user:abc", "x")
    assert not await fruit_store.delete_stray_if_unchanged("user:abc", "y")
    assert await fruit_store.delete_stray_if_unchanged("user:abc", "x")
    assert await redis_client.exists("user:abc") == 0
    with pytest.raises(ValueError, match="not a stray key"):
        await fruit_store.delete_stray_if_unchanged("user:1", "x")
