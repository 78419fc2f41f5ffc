"""A real redis-server for tests, on a free loopback port: never the machine's own Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import redis.asyncio

from fruitsplit.adapters.redis_fruits import redis_client_from_endpoint
from fruitsplit.adapters.redis_server import RedisServerProcess


@contextmanager
def running_redis_server(
    data_dir: Path, *, binary: Path | None = None
) -> Iterator[RedisServerProcess]:
    """Start a redis-server keeping its files in `data_dir`; stop it on exit.

    A machine without redis-server fails here with an install hint, never a skip.
    """
    server = RedisServerProcess(data_dir, binary=binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@asynccontextmanager
async def redis_client_for(server: RedisServerProcess) -> AsyncIterator[redis.asyncio.Redis]:
    """The production client factory pointed at `server`, closed on exit."""
    client = redis_client_from_endpoint(server.endpoint, None)
    try:
        yield client
    finally:
        await client.aclose()
