"""The monolith handing its fruits over to the service, phase by phase, over real sockets."""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import redis

from fruitsplit.core.phases import Phase
from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.fruits_service import public_key_path, running_service, service_settings
from tests.support.monolith import fast_hasher
from tests.support.processes import free_port
from tests.support.servers import serve_in_thread

PASSWORD = "correct horse"


@pytest.fixture
def service(settings, key_file):
    config = service_settings(settings.redis_endpoint, public_key_file=public_key_path(key_file))
    with running_service(config) as running:
        yield running


def serve_monolith(settings, **overrides):
    # Phase switches in these tests must show on the very next request.
    config = settings.model_copy(update={"phase_refresh_s": 0.0, **overrides})
    monolith = build_monolith(config, hasher=fast_hasher())
    return serve_in_thread(create_app(monolith))


@pytest.fixture
def monolith_url(settings, service):
    with serve_monolith(settings, fruits_endpoint=service.url) as url:
        yield url


def switch(settings, phase: Phase) -> None:
    with sqlite3.connect(settings.db_file) as conn:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('phase', ?, 0)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (phase.value,),
        )
    conn.close()


def sqlite_fruit(settings, user_id: int) -> str:
    with sqlite3.connect(settings.db_file) as conn:
        (fruit,) = conn.execute("SELECT fruit FROM fruits WHERE user = ?", (user_id,)).fetchone()
    conn.close()
    return fruit


@contextmanager
def logged_in(url: str, username: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=10.0) as client:
        login = client.post("/login", data={"username": username, "password": PASSWORD})
        assert login.status_code == 302
        yield client


@pytest.mark.parametrize("phase", list(Phase))
def test_the_same_journey_works_in_every_phase(settings, monolith_url, phase):
    user = add_user(settings, "anna", fruit="apple")
    switch(settings, phase)
    with logged_in(monolith_url, "anna") as client:
        assert client.put("/fruit", data={"fruit": "pear"}).status_code == 302
        page = client.get("/")
    assert page.status_code == 200
    assert "anna: pear" in page.text
    assert f'<span id="phase">{phase}</span>' in page.text
    stored = redis.Redis.from_url(f"redis://{settings.redis_endpoint}", decode_responses=True)
    with stored:
        in_redis = stored.get(f"user:{user.id}")
    expected_redis = None if phase is Phase.LEGACY else "YW5uYQ==:pear"
    assert in_redis == expected_redis
    expected_sqlite = "apple" if phase is Phase.SERVICE_ONLY else "pear"
    assert sqlite_fruit(settings, user.id) == expected_sqlite


def test_after_cut_over_special_fruits_are_still_refused(settings, monolith_url):
    add_user(settings, "anna", fruit="apple")
    switch(settings, Phase.SERVICE_PRIMARY)
    with logged_in(monolith_url, "anna") as client:
        response = client.put("/fruit", data={"fruit": "kiwi"})
    assert response.status_code == 403


def test_when_the_service_is_down_the_page_says_so_and_writes_fail_clearly(settings):
    add_user(settings, "anna", fruit="apple")
    switch(settings, Phase.SERVICE_PRIMARY)
    unreachable = f"http://127.0.0.1:{free_port()}"
    with (
        serve_monolith(settings, fruits_endpoint=unreachable) as url,
        logged_in(url, "anna") as client,
    ):
        page = client.get("/", headers={"Accept": "text/html"})
        write = client.put("/fruit", data={"fruit": "pear"})
    assert page.status_code == 503
    assert "the fruits service is unavailable" in page.text
    assert 'id="fruits-retry"' in page.text
    assert write.status_code == 503
    assert sqlite_fruit(settings, 1) == "apple"
