"""The article's scenario end to end: the original's flags, HTTP, a real Redis, the verifier."""

from __future__ import annotations

from pathlib import Path

import httpx
import redis

from fruitsplit.adapters.redis_server import RedisServerProcess
from tests.support.live_monolith import logged_in, serving_monolith, wait_for
from tests.support.processes import run_cli

PASSWORD = "fruits-article"
DECODE_FAILURE = "failed to decode username: illegal base64 data at input byte 5"


def test_the_articles_migration_dark_launch_and_healing_end_to_end(
    tmp_path: Path, key_file: Path, empty_redis: RedisServerProcess
) -> None:
    env = {
        "USE_DB_FILE": str(tmp_path / "monolith.db"),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": empty_redis.endpoint,
    }
    for name in ("michael", "anna", "marian"):
        created = run_cli("monolith", "-create", name, "-password", PASSWORD, env=env)
        assert created.returncode == 0, created.stderr
    assert run_cli("monolith", "-super", "3", env=env).returncode == 0
    log_path = tmp_path / "monolith.log"

    with (
        serving_monolith(env, log_path) as url,
        redis.Redis(port=empty_redis.port, decode_responses=True) as store,
    ):
        for name, fruit in (("michael", "orange"), ("anna", "banana"), ("marian", "pineapple")):
            with logged_in(url, name, PASSWORD) as http:
                assert http.post("/fruit", data={"fruit": fruit}).status_code == 302
        assert store.keys("user:*") == []  # legacy phase: SQLite only

        migrated = run_cli("monolith", "-migrate", env=env)
        assert migrated.returncode == 0, migrated.stderr
        assert migrated.stdout.splitlines()[-1] == "migrated 3 records to redis"
        assert store.get("user:1") == "bWljaGFlbA==:orange"
        assert store.get("user:3") == "bWFyaWFu:pineapple"

        store.set("user:3", "bWFya%!@#$WFuxy:pineapple")
        switched = run_cli("fruits", "phase", "set", "dual-write", env=env)
        assert switched.returncode == 0, switched.stderr

        # The server reads the phase at most once a second; each page load then compares.
        def page_logged_the_decode_failure() -> bool:
            assert httpx.get(url).status_code == 200
            return DECODE_FAILURE in log_path.read_text()

        wait_for(page_logged_the_decode_failure, timeout_s=15, what="the decode failure logged")
        assert "marian: pineapple" in httpx.get(url).text  # never shown to the user

        found = run_cli("fruits", "verify", env=env)
        assert found.returncode == 1, found.stdout + found.stderr
        assert found.stdout.splitlines()[3].split() == ["corrupt", "1", "0", "1"]

        healed = run_cli("monolith", "-migrate", env=env)
        assert healed.stdout.splitlines()[-1] == "migrated 3 records to redis"
        assert store.get("user:3") == "bWFyaWFu:pineapple"
        clean = run_cli("fruits", "verify", env=env)
        assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Traceback" not in log_path.read_text()
