"""The move to Redis when things go wrong: Redis down, writes racing a copy, a killed copy."""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis

from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.config import MonolithSettings
from fruitsplit.core.fruits import FRUITS
from fruitsplit.core.record import encode_record
from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_monolith
from tests.support.live_monolith import logged_in, serving_monolith, wait_for
from tests.support.monolith import fast_hasher, monolith_settings
from tests.support.population import PASSWORD, insert_users
from tests.support.processes import BIN, run_cli
from tests.support.servers import serve_in_thread

PLAIN_FRUITS = [fruit for fruit in FRUITS if fruit not in ("pineapple", "kiwi")]


def env_for(settings: MonolithSettings, key_file: Path, **extra: str) -> dict[str, str]:
    return {
        "USE_DB_FILE": str(settings.db_file),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": settings.redis_endpoint,
        **extra,
    }


def verify_json(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    result = run_cli("fruits", "verify", "--json", env=env)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def settled_verify_json(env: dict[str, str]) -> tuple[int, dict[str, object]]:
    """verify, once every dual write is in Redis (a direct write that failed under load is
    the outbox relay's to deliver, within about a second): no repair, only waiting."""
    wait_for(lambda: outbox_depth(env) == 0, timeout_s=30, what="the outbox drained")
    return verify_json(env)


def outbox_depth(env: dict[str, str]) -> int:
    with sqlite3.connect(env["USE_DB_FILE"]) as conn:
        (depth,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    conn.close()
    return int(depth)


# --- Redis down during dual writes -------------------------------------------------------


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServerProcess]:
    """A redis-server of this test's own, which it may stop and start again."""
    server = RedisServerProcess(tmp_path / "own-redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_updates_made_while_redis_is_down_reach_it_once_it_is_back(
    tmp_path: Path, key_file: Path, own_redis: RedisServerProcess
) -> None:
    settings = monolith_settings(tmp_path, key_file, redis_endpoint=own_redis.endpoint)
    env = env_for(settings, key_file, OUTBOX_RELAY_INTERVAL="0.2", REDIS_TIMEOUT="0.5")
    insert_users(settings.db_file, 3)
    assert run_cli("fruits", "phase", "set", "dual-write", env=env).returncode == 0
    latest: dict[int, str] = {}

    with serving_monolith(env, tmp_path / "monolith.log") as url:
        sessions = [logged_in(url, f"user{user_id}", PASSWORD) for user_id in (1, 2, 3)]
        clients = [session.__enter__() for session in sessions]
        try:
            own_redis.stop()
            for round_number in range(3):
                for user_id, http in enumerate(clients, start=1):
                    fruit = PLAIN_FRUITS[(user_id + round_number) % len(PLAIN_FRUITS)]
                    # Saved in SQLite and kept in the outbox: the user sees success.
                    assert http.post("/fruit", data={"fruit": fruit}).status_code == 302
                    latest[user_id] = fruit
            own_redis.start()

            with redis.Redis(port=own_redis.port, decode_responses=True) as store:

                def redis_has_every_latest_value() -> bool:
                    return all(
                        store.get(f"user:{user_id}") == encode_record(f"user{user_id}", fruit)
                        for user_id, fruit in latest.items()
                    )

                wait_for(redis_has_every_latest_value, timeout_s=30, what="the outbox delivered")
        finally:
            for session in sessions:
                session.__exit__(None, None, None)

    status, report = verify_json(env)
    assert status == 0, report
    assert all(kind["found"] == 0 for kind in report["kinds"].values())  # type: ignore[union-attr]
    assert "Traceback" not in (tmp_path / "monolith.log").read_text()


# --- live writes racing the copy and the repair ------------------------------------------


class Writers:
    """Tasks that keep changing fruits through the monolith's HTTP API until stopped."""

    def __init__(self, url: str, user_ids: list[int], tasks: int = 4) -> None:
        self._url = url
        self._groups = [user_ids[i::tasks] for i in range(tasks)]
        self._stop = asyncio.Event()
        self._running: list[asyncio.Task[int]] = []
        self.writes = 0

    async def start(self) -> None:
        self._stop.clear()
        self._running = [asyncio.create_task(self._write(group)) for group in self._groups]
        await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stop.set()
        self.writes += sum(await asyncio.gather(*self._running))

    async def _write(self, user_ids: list[int]) -> int:
        rng = random.Random(user_ids[0])
        clients = []
        try:
            for user_id in user_ids:
                client = httpx.AsyncClient(base_url=self._url, timeout=10.0)
                clients.append(client)
                form = {"username": f"user{user_id}", "password": PASSWORD}
                assert (await client.post("/login", data=form)).status_code == 302
            writes = 0
            while not self._stop.is_set():
                client = rng.choice(clients)
                response = await client.post("/fruit", data={"fruit": rng.choice(PLAIN_FRUITS)})
                assert response.status_code == 302
                writes += 1
            return writes
        finally:
            for client in clients:
                await client.aclose()


@pytest.fixture
async def racing_monolith(
    settings: MonolithSettings, key_file: Path
) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A monolith in dual-write (in a thread, with a fast password hasher) over 300 users."""
    insert_users(settings.db_file, 300)
    env = env_for(settings, key_file)
    assert run_cli("fruits", "phase", "set", "dual-write", env=env).returncode == 0
    monolith = build_monolith(settings, hasher=fast_hasher())
    with serve_in_thread(create_app(monolith)) as url:
        yield url, env


async def test_copy_and_repair_racing_live_writes_leave_no_difference(
    racing_monolith: tuple[str, dict[str, str]], empty_redis: RedisServerProcess
) -> None:
    url, env = racing_monolith
    hot_users = list(range(1, 301, 10))  # 30 users changing all the time, spread over pages
    writers = Writers(url, hot_users)
    store = redis.Redis(port=empty_redis.port, decode_responses=True)
    rng = random.Random(7)
    refused = 0  # fruits the copies found newer in Redis: races they lost, as they must
    try:
        for round_number in range(4):
            if round_number % 2 == 0:
                store.flushall()  # a first copy, racing the dual writes that create records
            await writers.start()
            # Paced pages: the copy takes a second, each page waiting about 0.1 s
            # between its read and its write, while the writers change its fruits.
            paced = ("--restart", "--batch-size", "30", "--max-rate", "300")
            migrated = await asyncio.to_thread(run_cli, "fruits", "migrate", *paced, env=env)
            await writers.stop()
            assert migrated.returncode == 0, migrated.stderr
            newer = re.search(r"(\d+) newer in Redis", migrated.stderr)
            assert newer is not None, migrated.stderr
            refused += int(newer.group(1))
            status, report = await asyncio.to_thread(settled_verify_json, env)
            assert status == 0, (round_number, report)

        for round_number in range(2):
            for user_id in rng.sample(range(1, 301), 20):
                store.set(f"user:{user_id}", "bWFya%!@#$WFuxy:pineapple")
            store.delete(*(f"user:{user_id}" for user_id in rng.sample(range(1, 301), 20)))
            store.set("user:abc", "stray")
            await writers.start()
            repaired = await asyncio.to_thread(run_cli, "fruits", "verify", "--repair", env=env)
            await writers.stop()
            assert repaired.returncode in (0, 1), repaired.stderr
            status, report = await asyncio.to_thread(settled_verify_json, env)
            assert status == 0, (round_number, report)
    finally:
        store.close()
    # The race happened: live writes landed between a copy's read and its write
    # (about twenty times a run), and each time the copy left the newer fruit.
    assert refused > 0


# --- a copy killed midway ----------------------------------------------------------------


def copy_checkpoint(db_file: Path) -> tuple[int, int] | None:
    try:
        with sqlite3.connect(db_file) as conn:
            row = conn.execute(
                "SELECT after_user_id, copied FROM copy_checkpoints WHERE name = 'copy-to-redis'"
            ).fetchone()
        conn.close()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None
    return (int(row[0]), int(row[1])) if row else None


def test_a_copy_killed_midway_resumes_where_it_stopped(
    settings: MonolithSettings, key_file: Path
) -> None:
    insert_users(settings.db_file, 3000)
    env = env_for(settings, key_file)
    process = subprocess.Popen(
        [str(BIN / "fruits"), "migrate", "--max-rate", "1500", "--batch-size", "100"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while (checkpoint := copy_checkpoint(settings.db_file)) is None or checkpoint[1] < 600:
            assert process.poll() is None, "the copy ended before it could be killed"
            assert time.monotonic() < deadline, "the copy made no progress"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    stopped = copy_checkpoint(settings.db_file)
    assert stopped is not None
    after_user_id, copied = stopped
    assert 0 < copied < 3000

    resumed = run_cli("fruits", "migrate", env=env)

    assert resumed.returncode == 0, resumed.stderr
    assert (
        f"resuming after user {after_user_id}: {copied} records were copied before"
        in resumed.stderr
    )
    assert resumed.stdout.splitlines()[-1] == "migrated 3000 records to redis"
    assert copy_checkpoint(settings.db_file) is None
    status, report = verify_json(env)
    assert status == 0, report
