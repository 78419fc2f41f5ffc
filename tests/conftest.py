"""Fixtures shared by every test folder: keys, settings, and a monolith behind a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis

from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.adapters.signing import generate_private_key, private_key_pem, public_key_pem
from fruitsplit.config import FruitsServiceSettings, MonolithSettings
from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import Monolith, build_monolith
from tests.support.monolith import fast_hasher, monolith_settings
from tests.support.redis import running_redis_server
from tests.support.servers import serve_in_thread


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Settings come from the environment; a developer's own must not leak into tests.
    for settings_class in (MonolithSettings, FruitsServiceSettings):
        for field in settings_class.model_fields.values():
            if isinstance(field.validation_alias, str):
                monkeypatch.delenv(field.validation_alias, raising=False)


@pytest.fixture(scope="session")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("keys")
    key = generate_private_key()
    path = folder / "server.pem"
    path.write_bytes(private_key_pem(key))
    (folder / "server.pem.pub").write_bytes(public_key_pem(key.public_key()))
    return path


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServerProcess]:
    """One real redis-server for the whole run, on a free loopback port."""
    with running_redis_server(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def empty_redis(redis_server: RedisServerProcess) -> RedisServerProcess:
    with redis.Redis(port=redis_server.port) as client:
        client.flushall()
    return redis_server


@pytest.fixture
def settings(tmp_path: Path, key_file: Path, empty_redis: RedisServerProcess) -> MonolithSettings:
    return monolith_settings(tmp_path, key_file, redis_endpoint=empty_redis.endpoint)


@pytest.fixture
def monolith(settings: MonolithSettings) -> Monolith:
    return build_monolith(settings, hasher=fast_hasher())


@dataclass
class RunningMonolith:
    url: str
    monolith: Monolith

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def running_monolith(monolith: Monolith) -> Iterator[RunningMonolith]:
    with serve_in_thread(create_app(monolith)) as url:
        yield RunningMonolith(url, monolith)
