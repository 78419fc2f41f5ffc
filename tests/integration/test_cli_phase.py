"""`fruits phase` and `fruits sync` as real processes, against real SQLite and Redis."""

import asyncio
import sqlite3

import pytest
import redis

from fruitsplit.core.phases import Phase
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.monolith import fast_hasher
from tests.support.processes import free_port, run_cli


@pytest.fixture
def env(settings, key_file):
    return {
        "USE_DB_FILE": str(settings.db_file),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": settings.redis_endpoint,
    }


def test_phase_shows_legacy_at_first_and_switches_to_dual_write(env):
    assert run_cli("fruits", "phase", env=env).stdout.splitlines() == [
        "phase: legacy",
        "outbox: 0 waiting, 0 failing",
    ]
    switched = run_cli("fruits", "phase", "set", "dual-write", env=env)
    assert switched.stdout.strip() == "phase: legacy -> dual-write"
    assert run_cli("fruits", "phase", env=env).stdout.startswith("phase: dual-write")


def test_cut_over_is_refused_while_the_stores_differ_unless_forced(settings, env):
    add_user(settings, "michael", fruit="orange")  # in SQLite, not yet copied to Redis
    run_cli("fruits", "phase", "set", "dual-write", env=env)
    refused = run_cli("fruits", "phase", "set", "service-primary", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: refusing to switch from dual-write to service-primary: the stores differ"
        " (1 differences). Run `fruits verify --repair` (in dual-write it mends Redis),"
        " or pass --force"
    )
    assert run_cli("fruits", "phase", env=env).stdout.startswith("phase: dual-write")
    forced = run_cli("fruits", "phase", "set", "service-primary", "--force", env=env)
    assert forced.stdout.strip() == "phase: dual-write -> service-primary"


def write_while_redis_is_down(settings, user):
    async def run() -> None:
        down = settings.model_copy(
            update={"redis_endpoint": f"127.0.0.1:{free_port()}", "redis_timeout_s": 0.2}
        )
        monolith = build_monolith(down, hasher=fast_hasher())
        await monolith.open(run_relay=False)
        try:
            await monolith.phases.switch(Phase.DUAL_WRITE)
            await monolith.fruits.choose_fruit(user, "pear")
        finally:
            await monolith.close()

    asyncio.run(run())


def test_sync_delivers_what_waits_in_the_outbox(settings, env):
    user = add_user(settings, "michael", fruit="orange")
    write_while_redis_is_down(settings, user)
    assert "outbox: 1 waiting" in run_cli("fruits", "phase", env=env).stdout
    result = run_cli("fruits", "sync", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "outbox empty: Redis has every write"
    with redis.Redis.from_url(f"redis://{settings.redis_endpoint}", decode_responses=True) as r:
        assert r.get(f"user:{user.id}") == "bWljaGFlbA==:pear"
    with sqlite3.connect(settings.db_file) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    conn.close()


def test_sync_says_what_is_left_when_redis_stays_down(settings, env):
    user = add_user(settings, "michael", fruit="orange")
    write_while_redis_is_down(settings, user)
    down = {**env, "USE_REDIS_ENDPOINT": f"127.0.0.1:{free_port()}", "REDIS_TIMEOUT": "0.2"}
    result = run_cli("fruits", "sync", "--timeout", "1", env=down)
    assert result.returncode == 1
    *reasons, last = result.stderr.strip().splitlines()
    assert last == "error: 1 writes still waiting for Redis after 1 s"
    assert reasons
    assert all("Connect call failed" in reason for reason in reasons)
