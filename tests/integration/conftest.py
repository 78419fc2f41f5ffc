"""Integration fixtures: one real redis-server per session and a clean database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio

from fruitsplit.adapters.redis_fruits import RedisFruitStore
from fruitsplit.adapters.redis_server import RedisServerProcess
from tests.support.redis import redis_client_for, running_redis_server


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerProcess]:
    with running_redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
async def redis_client(redis_server: RedisServerProcess) -> AsyncIterator[redis.asyncio.Redis]:
    async with redis_client_for(redis_server) as client:
        await client.flushall()
        yield client


@pytest.fixture
def fruit_store(redis_client: redis.asyncio.Redis) -> RedisFruitStore:
    return RedisFruitStore(redis_client)
