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

import re
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlsplit

import redis.asyncio
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.record import (
    RECORD_KEY_PATTERN,
    encode_record,
    parse_record_key,
    record_key,
    version_key,
)

# (user id or None for a key under user:* that is not a record key, key, raw value)
ScannedRecord = tuple[int | None, str, str | None]

HEALTH_CHECK_INTERVAL_S = 30
CONNECTION_RETRIES = 3
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


# KEYS: record, version. ARGV: value, version. Refuses only an older version:
# writing the same version again is how a corrupted record is mended.
_PUT_VERSIONED_LUA = """
local held = tonumber(redis.call('GET', KEYS[2]) or '') or -1
local version = tonumber(ARGV[2])
if held > version then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
if held ~= version then redis.call('SET', KEYS[2], ARGV[2]) end
return 1
"""


class RedisFruitStore:
    """The fruits microservice's store: one record per user under `user:<id>`."""

    def __init__(self, client: redis.asyncio.Redis) -> None:
        self._client = client
        self._put_if_unchanged = client.register_script(_PUT_IF_UNCHANGED_LUA)
        self._put_versioned = client.register_script(_PUT_VERSIONED_LUA)

    async def ping(self) -> None:
        """Return when Redis answers; raise redis.RedisError when it cannot be reached."""
        await self._client.ping()

    async def fetch_many(self, user_ids: Sequence[int]) -> list[str | None]:
        """Return the raw record values of `user_ids`, in order, None where absent.

        One MGET per call, so callers page their ids. A key holding another type
        than a string also reads as None.
        """
        if not user_ids:
            return []
        values = await self._client.mget([record_key(user_id) for user_id in user_ids])
        return [_as_text(value) for value in values]

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
        return [bool(flag) for flag in written]

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
    return redis.asyncio.Redis.from_url(
        url,
        socket_connect_timeout=timeout_s,
        socket_timeout=timeout_s,
        health_check_interval=HEALTH_CHECK_INTERVAL_S,
        retry=Retry(
            ExponentialBackoff(cap=RETRY_BACKOFF_CAP_S, base=RETRY_BACKOFF_BASE_S),
            CONNECTION_RETRIES,
            supported_errors=(RedisConnectionError, RedisTimeoutError),
        ),
        decode_responses=True,
        # A stray binary value under user:* must not make a whole scan batch fail;
        # it decodes with U+FFFD and then reads as a corrupt or different record.
        encoding_errors="replace",
    )


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
