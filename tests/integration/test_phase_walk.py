"""A walk through every phase and back, writing at each step, ends with agreeing stores."""

import httpx
import pytest

from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.fruits_service import public_key_path, running_service, service_settings
from tests.support.monolith import fast_hasher
from tests.support.processes import run_cli
from tests.support.servers import serve_in_thread

PASSWORD = "correct horse"


@pytest.fixture
def env(settings, key_file):
    return {
        "USE_DB_FILE": str(settings.db_file),
        "PRIVATE_KEY_FILE": str(key_file),
        "USE_REDIS_ENDPOINT": settings.redis_endpoint,
    }


def test_forward_and_back_through_every_phase_loses_no_write(settings, key_file, env):
    add_user(settings, "anna", fruit="apple")
    add_user(settings, "marian", is_super=True, fruit="kiwi")
    service_config = service_settings(
        settings.redis_endpoint, public_key_file=public_key_path(key_file)
    )

    def phase(name: str, *extra: str) -> None:
        result = run_cli("fruits", "phase", "set", name, *extra, env=env)
        assert result.returncode == 0, result.stderr

    with running_service(service_config) as service:
        monolith = build_monolith(
            settings.model_copy(update={"fruits_endpoint": service.url, "phase_refresh_s": 0.0}),
            hasher=fast_hasher(),
        )
        with serve_in_thread(create_app(monolith)) as url, httpx.Client(base_url=url) as anna:
            anna.post("/login", data={"username": "anna", "password": PASSWORD})

            def write(fruit: str) -> None:
                assert anna.put("/fruit", data={"fruit": fruit}).status_code == 302
                assert f"anna: {fruit}" in anna.get("/").text

            write("banana")  # legacy
            phase("dual-write")
            write("pear")
            assert run_cli("fruits", "migrate", env=env).returncode == 0
            phase("service-primary")
            write("orange")
            phase("service-only")
            write("apple")  # SQLite no longer hears of it

            # Back: SQLite missed the last write, so the switch waits for a repair.
            refused = run_cli("fruits", "phase", "set", "service-primary", env=env)
            assert refused.returncode == 1
            assert "it mends SQLite" in refused.stderr
            assert run_cli("fruits", "verify", "--repair", env=env).returncode == 0
            phase("service-primary")
            write("banana")
            phase("dual-write")
            write("pear")
            phase("legacy")

    final = run_cli("fruits", "verify", env=env)
    assert final.returncode == 0, final.stdout
    assert "consistent" in final.stdout.splitlines()[-1]
