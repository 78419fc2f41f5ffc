"""Fruit records in Redis: batched reads and writes, a bounded scan, and compare-and-set.

One `redis.asyncio.Redis` client, built once by `redis_client_from_endpoint`
(in an app's lifespan or a CLI command) and closed there, is passed to
`RedisFruitStore`; the store never makes or closes clients.

Redis Cluster: every write here touches one key per command (SET, the
compare-and-set script) and deletes use DEL, which a cluster client splits by
hash slot; a non-transactional pipeline is split by node. The one multi-key
read is MGET: on a cluster, swap it for the cluster client's `mget_nonatomic`,
which splits by slot, since plain MGET across slots fails with CROSSSLOT.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import hiredis
import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.typing import EncodableT

from fruitsplit.core.copying import FruitPage, KeyState, WriteTally
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.paging import ScanPosition
from fruitsplit.core.record import (
    RECORD_KEY_PATTERN,
    RECORD_KEY_PREFIX,
    encode_record,
    encode_records,
    parse_record_key,
    record_key,
    record_keys,
    version_key,
    version_key_of,
)

T = TypeVar("T")

# (user id or None for a key under user:* that is not a record key, key, raw value)
ScannedRecord = tuple[int | None, str, str | None]

HEALTH_CHECK_INTERVAL_S = 30
MAX_CONNECTIONS = 64
# The largest SCAN COUNT a page asks for (a page asks for its limit).
MAX_PAGE_SCAN_COUNT = 1000
# A page stops after this many SCAN steps even if it is not full, so a keyspace
# with few records among many other keys cannot make one request scan all of it.
MAX_SCAN_STEPS_PER_PAGE = 64
CONNECTION_RETRIES = 3
# Fruits per command in bulk writes: Redis runs one command at a time, so this
# bounds how long one holds it up (about 1 to 3 ms on a small machine).
BULK_CALL_SIZE = 500
# Keys per MGET in bulk reads.
READ_CALL_SIZE = 1000
RETRY_BACKOFF_BASE_S = 0.05
RETRY_BACKOFF_CAP_S = 1.0

_ENDPOINT = re.compile(
    r"(?:(?P<name>[A-Za-z0-9._-]+)|\[(?P<ipv6>[0-9A-Fa-f:.]+)\]):(?P<port>[0-9]{1,5})",
)

# ARGV[1] is "absent" or "equals"; ARGV[2] the expected value; ARGV[3] the new one.
# Runs atomically, so no write can land between the comparison and the SET.
_PUT_IF_UNCHANGED_LUA = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == 'absent' then
  if current then return 0 end
elseif current ~= ARGV[2] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
return 1
"""


# KEYS: record and version key of each fruit, in pairs; ARGV: value and version
# of each, in the same order. Returns 1 per fruit written, 0 per fruit refused.
# Refuses only an older version: writing the same version again is how a
# corrupted record is mended. A missing version key counts as version 0 (the
# rows the original wrote), so version 0 is never stored: a first copy of the
# original's data writes one key per user, not two.
_PUT_VERSIONED_LUA = """
local written = {}
for i = 1, #KEYS, 2 do
  local held = tonumber(redis.call('GET', KEYS[i + 1]) or '') or 0
  local version = tonumber(ARGV[i + 1])
  if held > version then
    written[#written + 1] = 0
  else
    redis.call('SET', KEYS[i], ARGV[i])
    if version > held then redis.call('SET', KEYS[i + 1], ARGV[i + 1]) end
    written[#written + 1] = 1
  end
end
return written
"""

# KEYS: a key under user:*, then (for a record) its version key. Returns the
# key's kind ("absent", "string" or "other"), its value if a string, and the
# version key's value (false for none).
_INSPECT_KEY_LUA = """
local kind = redis.call('TYPE', KEYS[1])['ok']
local raw = false
if kind == 'string' then
  raw = redis.call('GET', KEYS[1])
elseif kind == 'none' then
  kind = 'absent'
else
  kind = 'other'
end
local version = false
if KEYS[2] then version = redis.call('GET', KEYS[2]) end
return {kind, raw, version}
"""

# KEYS: the key, then (for a record) its version key. ARGV: "string" and the raw
# value expected, or "other" and "" for a key holding another type than a
# string; then the version expected ("" for none). Deletes the key only if all
# is still what the caller read, so a record written since is never lost: a new
# write of the very same value still changes the version.
_DELETE_IF_UNCHANGED_LUA = """
if ARGV[1] == 'other' then
  local kind = redis.call('TYPE', KEYS[1])['ok']
  if kind == 'string' or kind == 'none' then return 0 end
elseif redis.pcall('GET', KEYS[1]) ~= ARGV[2] then
  return 0
end
if KEYS[2] and (redis.call('GET', KEYS[2]) or '') ~= ARGV[3] then return 0 end
return redis.call('DEL', KEYS[1])
"""


# KEYS: record, version. ARGV: value. Returns the version of this write: one more
# than the version held, so it orders after every write _PUT_VERSIONED_LUA made
# (which refuses only versions older than the one held). A version key holding
# something no writer sets (not a decimal integer INCR can take) starts again at 1.
_PUT_NEXT_VERSION_LUA = """
local held = redis.call('GET', KEYS[2])
local version = 1
if held and string.match(held, '^[0-9]+$') and string.len(held) < 19 then
  version = redis.call('INCR', KEYS[2])
else
  redis.call('SET', KEYS[2], '1')
end
redis.call('SET', KEYS[1], ARGV[1])
return version
"""


class RedisFruitStore:
    """The fruits microservice's store: one record per user under `user:<id>`."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        # A client built by redis_client_from_endpoint decodes replies to str already.
        self._decodes = bool(client.connection_pool.connection_kwargs.get("decode_responses"))
        self._put_if_unchanged = client.register_script(_PUT_IF_UNCHANGED_LUA)
        self._put_versioned = client.register_script(_PUT_VERSIONED_LUA)
        self._delete_if_unchanged = client.register_script(_DELETE_IF_UNCHANGED_LUA)
        self._inspect_key = client.register_script(_INSPECT_KEY_LUA)
        self._put_next_version = client.register_script(_PUT_NEXT_VERSION_LUA)

    async def ping(self) -> None:
        """Return when Redis answers; raise redis.RedisError when it cannot be reached."""
        await self._client.ping()

    async def fetch_many(self, user_ids: Sequence[int]) -> list[str | None]:
        """Return the raw record values of `user_ids`, in order, None where absent.

        One round trip: an MGET per READ_CALL_SIZE ids, packed in C (redis-py's
        own packing costs more than Redis spends on the read). Callers page
        their ids. A key holding another type than a string also reads as None.
        """
        if not user_ids:
            return []
        keys = record_keys(user_ids)
        replies = await self._exchange(
            [_pack(b"MGET", *call) for call in _split(keys, READ_CALL_SIZE)]
        )
        values: list[str | None] = list(itertools.chain.from_iterable(replies))
        if self._decodes:
            return values
        return [_as_text(value) for value in values]

    async def fetch_one(self, user_id: int) -> str | None:
        """Return the raw record value of `user_id`, None if absent or not a string."""
        # MGET, not GET: a key of another type reads as None instead of WRONGTYPE.
        (value,) = await self._client.mget([record_key(user_id)])
        return _as_text(value)

    async def put_next_version(self, user_id: int, username: str, fruit: str) -> int:
        """Write the record as the newest version of it, atomically; return that version.

        The service owns the store, so its write always wins: the version key
        `fruit-version:{user:N}` is incremented and the record set in one script,
        and a later put_versioned carrying an older version is refused. Raises
        ValueError for a fruit containing ':' before anything is sent.
        """
        value = encode_record(username, fruit)
        version = await self._put_next_version(
            keys=[record_key(user_id), version_key(user_id)], args=[value]
        )
        return int(version)

    async def put(self, user_id: int, username: str, fruit: str) -> None:
        """Write one record; raise ValueError for a fruit containing ':'."""
        await self._client.set(record_key(user_id), encode_record(username, fruit))

    async def put_many(self, records: Sequence[tuple[int, str, str]]) -> None:
        """Write (user_id, username, fruit) records in one round trip.

        Every record is encoded before anything is sent, so a fruit containing
        ':' raises ValueError with nothing written. The pipeline is not a
        transaction: on a connection failure some records may have landed.
        """
        encoded = [(record_key(uid), encode_record(name, fruit)) for uid, name, fruit in records]
        if not encoded:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for key, value in encoded:
                pipe.set(key, value)
            await pipe.execute()

    async def put_if_unchanged(
        self, user_id: int, expected_raw: str | None, username: str, fruit: str
    ) -> bool:
        """Write the record only if its raw value is still `expected_raw`; say whether it did.

        `expected_raw` None means "only if there is no record". This is what
        makes a copy safe against concurrent updates: a copier that read the
        old value never overwrites a newer one written since.
        """
        value = encode_record(username, fruit)
        args = ["absent", "", value] if expected_raw is None else ["equals", expected_raw, value]
        written = await self._put_if_unchanged(keys=[record_key(user_id)], args=args)
        return bool(written)

    async def put_versioned(self, fruits: Sequence[VersionedFruit]) -> list[bool]:
        """Write each fruit unless Redis holds a newer version of it; one round trip.

        Returns, per fruit, whether it was written (False: a newer one was there).
        Each script call touches one slot, so a cluster pipeline can split them.
        """
        encoded = [
            (
                record_key(f.user_id),
                version_key(f.user_id),
                encode_record(f.username, f.fruit),
                f.version,
            )
            for f in fruits
        ]
        if not encoded:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for key, versions, value, version in encoded:
                await self._put_versioned(keys=[key, versions], args=[value, version], client=pipe)
            written = await pipe.execute()
        return [bool(flags[0]) for flags in written]

    async def put_versioned_bulk(self, page: FruitPage) -> WriteTally:
        """Write each fruit of `page` unless Redis holds a newer version, as put_versioned does.

        The same outcome for thousands of fruits, in at most three round trips
        of a few large commands, each covering up to BULK_CALL_SIZE fruits (so
        one command holds Redis up for a few ms at most):

        1. Version-0 fruits (rows the original wrote, never changed since) go in
           one MSETNX per call. It writes all of them only if none of their
           records exists, so it never replaces anything; and an absent record
           may always take version 0 (a live update landing later replaces it,
           one that landed earlier makes the MSETNX refuse).
        2. The rest (fruits with a version, and those of refused MSETNX calls)
           are read with MGET, record and version key together. A record that
           holds the fruit already at that version or a newer one is left
           alone: versions only grow, so that stays true.
        3. What remains goes through the put_versioned script, which compares
           versions and writes atomically.

        Each call spans many hash slots, which a single Redis accepts; Redis
        Cluster would refuse it (CROSSSLOT): there, group the fruits by the slot
        of `record_key(user_id)` (a user's two keys share it through the hash
        tag) and send one call per group, or use put_versioned. Raises
        ValueError, before anything is sent, for a fruit containing ':'.
        """
        if not page:
            return WriteTally()
        keys = record_keys(page.user_ids)
        values = encode_records(page.usernames, page.fruits)
        versions = page.versions
        fresh: Sequence[int]
        if any(versions):
            fresh = [index for index, version in enumerate(versions) if version == 0]
            to_check = [index for index, version in enumerate(versions) if version != 0]
        else:  # the original's rows: all version 0, picked by slicing
            fresh, to_check = range(len(keys)), []
        written = unchanged = 0

        calls = _split(fresh, BULK_CALL_SIZE)
        replies = await self._exchange(
            [
                _pack(b"MSETNX", *_interleave(_pick(keys, call), _pick(values, call)))
                for call in calls
            ]
        )
        for call, reply in zip(calls, replies, strict=True):
            if reply == 1:
                written += len(call)
            else:
                to_check += call

        calls = _split(to_check, BULK_CALL_SIZE)
        replies = await self._exchange(
            [_pack(b"MGET", *_with_version_keys(_pick(keys, call))) for call in calls]
        )
        to_write: list[int] = []
        for call, held in zip(calls, replies, strict=True):
            for index, current, version_held in zip(call, held[0::2], held[1::2], strict=True):
                if current == values[index] and _holds_at_least(version_held, versions[index]):
                    unchanged += 1
                else:
                    to_write.append(index)

        calls = _split(to_write, BULK_CALL_SIZE)
        replies = await self._exchange(
            [
                _pack(
                    b"EVAL",
                    _PUT_VERSIONED_LUA,
                    2 * len(call),
                    *_with_version_keys(_pick(keys, call)),
                    *_interleave(_pick(values, call), _pick(versions, call)),
                )
                for call in calls
            ]
        )
        done = sum(sum(flags) for flags in replies)
        return WriteTally(written + done, unchanged, len(to_write) - done)

    async def scan_keys(self, batch_size: int = 1000) -> AsyncGenerator[list[str], None]:
        """Yield every key matching user:*, in batches of at most `batch_size`; no values.

        SCAN, with the guarantees scan_records states: a key present for the
        whole scan comes at least once, possibly twice.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        step = asyncio.ensure_future(self._scan_step(0, batch_size))
        try:
            while True:
                cursor, keys = await step
                if cursor != 0:
                    # Redis makes the next step while the caller looks at this one.
                    step = asyncio.ensure_future(self._scan_step(cursor, batch_size))
                for start in range(0, len(keys), batch_size):
                    yield keys[start : start + batch_size]
                if cursor == 0:
                    return
        finally:
            step.cancel()
            await asyncio.gather(step, return_exceptions=True)

    async def _scan_step(self, cursor: int, count: int) -> tuple[int, list[str]]:
        cursor, keys = await self._client.scan(cursor, match=RECORD_KEY_PATTERN, count=count)
        return int(cursor), [str(key) for key in keys]

    async def inspect_keys(self, keys: Sequence[str]) -> list[KeyState]:
        """Read the type, value and version key of each of `keys` (under user:*), in one go.

        Each key is read by one atomic script, so its type, value and version
        belong together, ready for a compare-and-delete.
        """
        if not keys:
            return []
        async with self._client.pipeline(transaction=False) as pipe:
            for key in keys:
                user_id = parse_record_key(key)
                versions = [] if user_id is None else [version_key(user_id)]
                await self._inspect_key(keys=[key, *versions], client=pipe)
            replies = await pipe.execute()
        return [
            KeyState(key, str(kind), _as_text(raw), _as_text(version) if version else None)
            for key, (kind, raw, version) in zip(keys, replies, strict=True)
        ]

    async def delete_if_unchanged(
        self, user_id: int, expected_raw: str | None, expected_version: str | None
    ) -> bool:
        """Delete `user_id`'s record only if it still holds what the caller read; say if it did.

        `expected_raw` is the raw value read (None: a key of another type than
        a string), `expected_version` the raw version key read with it (None:
        absent). Atomic: a write landing after the read changes the version
        even if it writes the very same value, and the record stays.
        """
        kind, raw = ("other", "") if expected_raw is None else ("string", expected_raw)
        deleted = await self._delete_if_unchanged(
            keys=[record_key(user_id), version_key(user_id)],
            args=[kind, raw, expected_version or ""],
        )
        return bool(deleted)

    async def delete_stray_if_unchanged(self, key: str, expected_raw: str | None) -> bool:
        """Delete `key`, a key under user:* that names no user, if it still holds `expected_raw`.

        No writer of ours writes such keys; the comparison only keeps a value
        someone put there since the read. None expects a value of another type.
        """
        if parse_record_key(key) is not None or not key.startswith(RECORD_KEY_PREFIX):
            raise ValueError(f"{key!r} is not a stray key under {RECORD_KEY_PATTERN}")
        kind, raw = ("other", "") if expected_raw is None else ("string", expected_raw)
        deleted = await self._delete_if_unchanged(keys=[key], args=[kind, raw, ""])
        return bool(deleted)

    async def _exchange(self, commands: Sequence[bytes]) -> list[Any]:
        """Send packed commands on one pooled connection; return their replies in order.

        Bypasses redis-py's per-argument packing, which costs more than Redis
        spends on a bulk write. Every reply is read before an error reply is
        raised, so the connection goes back to the pool in step; on any other
        failure it is dropped. A lost connection is retried as the client
        retries its own commands: every command sent here may run twice
        harmlessly (reads, MSETNX, and the versioned write).
        """
        if not commands:
            return []
        retry = self._client.get_retry()
        if retry is None:
            return await self._exchange_once(commands)
        return await retry.call_with_retry(lambda: self._exchange_once(commands), _forget_failure)

    async def _exchange_once(self, commands: Sequence[bytes]) -> list[Any]:
        pool = self._client.connection_pool
        connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            await connection.send_packed_command(commands)
            replies: list[Any] = []
            for _ in commands:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as error:
                    replies.append(error)
        except BaseException:
            await connection.disconnect()
            raise
        finally:
            await pool.release(connection)
        for reply in replies:
            if isinstance(reply, ResponseError):
                raise reply
        return replies

    async def delete_many(self, user_ids: Sequence[int]) -> int:
        """Delete the records of `user_ids`; return how many existed."""
        if not user_ids:
            return 0
        return await self._client.delete(*(record_key(user_id) for user_id in user_ids))

    async def scan_records(self, batch_size: int = 500) -> AsyncIterator[list[ScannedRecord]]:
        """Yield every key matching user:* with its raw value, in batches of at most `batch_size`.

        SCAN, never KEYS: memory stays bounded and Redis is never blocked. As
        SCAN guarantees, a key present for the whole scan is yielded at least
        once; a key may be yielded twice, and one written or deleted during the
        scan may or may not be. A key deleted between SCAN and MGET, or holding
        another type than a string, has value None.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        cursor = 0
        while True:
            cursor, keys = await self._client.scan(
                cursor, match=RECORD_KEY_PATTERN, count=batch_size
            )
            # COUNT is a hint: one SCAN step may return more keys than asked for.
            for start in range(0, len(keys), batch_size):
                chunk = [str(key) for key in keys[start : start + batch_size]]
                values = await self._client.mget(chunk)
                yield [
                    (parse_record_key(key), key, _as_text(value))
                    for key, value in zip(chunk, values, strict=True)
                ]
            if cursor == 0:
                return

    async def scan_page(
        self, start: ScanPosition, limit: int
    ) -> tuple[list[ScannedRecord], ScanPosition | None]:
        """Return about `limit` keys matching user:* with their raw values, from `start` on.

        Also returns where the next page starts, or None after the last one.
        One MGET for the page's values. A page holds whole SCAN steps (COUNT
        `limit`): a step read twice can differ if Redis resizes its table in
        between, so resuming inside one could skip a key. A step that would
        overflow a page that already has keys starts the next page instead, so
        a page exceeds `limit` only when its first step alone does (Redis returns
        a bucket's keys together). As with SCAN, every key present for the whole
        walk is returned at least once, and exactly once while nothing resizes.
        A page may hold no keys before the end (at most MAX_SCAN_STEPS_PER_PAGE
        steps are made).
        """
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        cursor = start.scan_cursor
        keys: list[str] = []
        following: ScanPosition | None = None
        for _ in range(MAX_SCAN_STEPS_PER_PAGE):
            next_cursor, found = await self._client.scan(
                cursor, match=RECORD_KEY_PATTERN, count=min(limit, MAX_PAGE_SCAN_COUNT)
            )
            step = [str(key) for key in found]
            if keys and len(keys) + len(step) > limit:
                following = ScanPosition(cursor)
                break
            keys += step
            if next_cursor == 0:
                following = None
                break
            cursor = next_cursor
            following = ScanPosition(cursor)
            if len(keys) >= limit:
                break
        values = await self._client.mget(keys) if keys else []
        records = [
            (parse_record_key(key), key, _as_text(value))
            for key, value in zip(keys, values, strict=True)
        ]
        return records, following


class HiredisPackedConnection(redis.asyncio.Connection):
    """redis-py's asyncio connection, packing commands with hiredis's C packer.

    The asyncio client packs commands in Python, which for an MGET of a
    thousand keys costs more than the round trip; redis-py's sync client
    already packs with hiredis. Only commands whose arguments are all str or
    bytes, with a one-word command name, are packed here (hiredis writes them
    byte for byte as redis-py does); anything else, and text that is not valid
    UTF-8, falls back to redis-py's own packing and its encoder's rules.
    """

    def pack_command(self, *args: EncodableT) -> list[bytes]:
        name = args[0]
        if (
            isinstance(name, str)
            and " " not in name
            and all(type(arg) is str or type(arg) is bytes for arg in args)
        ):
            try:
                return [hiredis.pack_command(args)]  # type: ignore[arg-type]
            except UnicodeEncodeError:
                pass
        packed: list[bytes] = super().pack_command(*args)
        return packed


def redis_client_from_endpoint(
    endpoint: str | None, url: str | None, *, timeout_s: float = 2.0
) -> redis.asyncio.Redis:
    """Build the one pooled Redis client of a process.

    From `url` (redis://, rediss:// or unix://) when given, else from
    `endpoint` as "host:port" (the original's USE_REDIS_ENDPOINT; an IPv6 host
    in brackets). Connect and read time out after `timeout_s` seconds; a
    connection error or timeout is retried a few times with exponential
    backoff. Nothing connects until the first command. Raises ValueError with a
    one-line message for a malformed endpoint or URL, or when both are None.
    """
    if timeout_s <= 0:
        raise ValueError(f"Redis timeout must be positive, not {timeout_s}")
    if url is None:
        if endpoint is None:
            raise ValueError("no Redis endpoint or URL configured")
        host, port = _parse_endpoint(endpoint)
        url = f"redis://[{host}]:{port}" if ":" in host else f"redis://{host}:{port}"
    else:
        _check_url(url)
    # Bounded: under a burst, requests wait up to `timeout_s` for a connection
    # instead of opening one each (the original's connection pile-up).
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(
            ExponentialBackoff(cap=RETRY_BACKOFF_CAP_S, base=RETRY_BACKOFF_BASE_S),
            CONNECTION_RETRIES,
            supported_errors=(RedisConnectionError, RedisTimeoutError),
        ),
        decode_responses=True,
        # redis:// only: a rediss:// or unix:// URL names its own connection class.
        connection_class=HiredisPackedConnection,
        # A stray binary value under user:* must not make a whole scan batch fail;
        # it decodes with U+FFFD and then reads as a corrupt or different record.
        encoding_errors="replace",
    )
    return redis.asyncio.Redis.from_pool(pool)


def _parse_endpoint(endpoint: str) -> tuple[str, int]:
    # As Go's net.SplitHostPort reads it: an IPv6 host needs brackets.
    match = _ENDPOINT.fullmatch(endpoint)
    port = int(match.group("port")) if match else 0
    if match is None or not 0 < port < 65536:
        raise ValueError(f"Redis endpoint must be host:port, not {endpoint!r}")
    return match.group("name") or match.group("ipv6"), port


def _check_url(url: str) -> None:
    # Messages never repeat the URL: it may carry a password.
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ValueError(f"bad Redis URL: {error}") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("Redis URL must start with redis://, rediss:// or unix://")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError("Redis URL has no host")
    if port == 0:
        raise ValueError("Redis URL has port 0")


def _as_text(value: object) -> str | None:
    # decode_responses=True gives str; bytes only if a caller built the client otherwise.
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"unexpected Redis reply {value!r}")


async def _forget_failure(error: Exception) -> None:
    # The failed connection was dropped already; the retry takes a fresh one.
    return None


def _pack(*args: bytes | str | int) -> bytes:
    """One command in the Redis protocol, packed in C by hiredis."""
    # The stub types the argument as a 1-tuple; hiredis takes a tuple of any length.
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]
    return packed


def _split(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _pick(items: list[T], indexes: Sequence[int]) -> list[T]:
    if isinstance(indexes, range) and indexes.step == 1:
        return items[indexes.start : indexes.stop]
    return [items[index] for index in indexes]


def _interleave(firsts: list[Any], seconds: list[Any]) -> list[Any]:
    """[a0, b0, a1, b1, ...], by slice assignment (in C)."""
    both: list[Any] = [None] * (2 * len(firsts))
    both[0::2] = firsts
    both[1::2] = seconds
    return both


def _with_version_keys(keys: list[str]) -> list[Any]:
    return _interleave(keys, [version_key_of(key) for key in keys])


def _holds_at_least(version_held: str | None, version: int) -> bool:
    """Whether a raw version key means `version` or newer, as the script's tonumber() reads it.

    Anything but plain decimal digits answers False, leaving the script to judge.
    """
    if version_held is None:
        return version == 0
    return version_held.isascii() and version_held.isdigit() and int(version_held) >= version
