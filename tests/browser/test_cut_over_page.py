"""After cut-over the page talks to the fruits service itself, with its token and CORS."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import pytest
import redis
from playwright.sync_api import Page, expect

from fruitsplit.config import MonolithSettings
from fruitsplit.core.phases import Phase
from fruitsplit.core.record import encode_record, record_key
from fruitsplit.core.users import User
from fruitsplit.web.fruits_service.app import create_app as create_service_app
from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_fruits_service, build_monolith
from tests.support.browser import choose_fruit, fruit_items, log_in
from tests.support.fruits_service import public_key_path, service_settings
from tests.support.monolith import fast_hasher
from tests.support.processes import free_port
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.browser


def copy_to_redis(settings: MonolithSettings, user: User, fruit: str) -> None:
    """What the migration did before cut-over, for one user."""
    with redis.Redis.from_url(f"redis://{settings.redis_endpoint}") as client:
        client.set(record_key(user.id), encode_record(user.username, fruit))


def switch(settings: MonolithSettings, phase: Phase) -> None:
    with sqlite3.connect(settings.db_file) as conn:
        conn.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES ('phase', ?, 0)",
            (phase.value,),
        )
    conn.close()


def serve_pair(settings, key_file, *, monolith_port: int, service_port: int):
    """The monolith and the service, each knowing the other's public address."""
    service_url = f"http://127.0.0.1:{service_port}"
    monolith = build_monolith(
        settings.model_copy(
            update={
                "fruits_endpoint": service_url,
                "fruits_endpoint_external": service_url,
                "phase_refresh_s": 0.0,
            }
        ),
        hasher=fast_hasher(),
    )
    service = build_fruits_service(
        service_settings(
            settings.redis_endpoint,
            public_key_file=public_key_path(key_file),
            http_origin=f"http://127.0.0.1:{monolith_port}",
        )
    )
    return (
        serve_in_thread(create_app(monolith), port=monolith_port),
        serve_in_thread(create_service_app(service), port=service_port),
    )


def test_the_page_saves_and_lists_through_the_service_directly(
    page: Page, settings, key_file, add_account: Callable[..., User]
) -> None:
    copy_to_redis(settings, add_account("alice", fruit="apple"), "apple")
    switch(settings, Phase.SERVICE_PRIMARY)
    monolith_server, service_server = serve_pair(
        settings, key_file, monolith_port=free_port(), service_port=free_port()
    )
    requests: list[tuple[str, str]] = []
    page.on("request", lambda request: requests.append((request.method, request.url)))
    with service_server as service_url, monolith_server as url:
        log_in(page, url, "alice")
        expect(fruit_items(page)).to_have_text(["alice: apple"])
        choose_fruit(page, "pear")
        expect(fruit_items(page)).to_have_text(["alice: pear"])
    assert ("PUT", f"{service_url}/fruit") in requests
    assert ("GET", f"{service_url}/") in requests
    assert ("POST", f"{url}/fruit") not in requests


def test_when_the_service_is_down_the_page_says_so_and_retry_recovers(
    page: Page, settings, key_file, add_account: Callable[..., User]
) -> None:
    copy_to_redis(settings, add_account("alice", fruit="apple"), "apple")
    switch(settings, Phase.SERVICE_PRIMARY)
    monolith_server, service_server = serve_pair(
        settings, key_file, monolith_port=free_port(), service_port=free_port()
    )
    with monolith_server as url:
        log_in(page, url, "alice")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("the fruits service is unavailable")
        retry = page.get_by_role("button", name="Retry")
        retry.click()
        expect(alert).to_contain_text("The fruits service is not answering")
        with service_server:
            retry.click()
            expect(fruit_items(page)).to_have_text(["alice: apple"])
            expect(retry).to_be_hidden()


@pytest.mark.parametrize("phase", list(Phase))
def test_the_same_journey_works_in_every_phase(
    page: Page, settings, key_file, add_account: Callable[..., User], phase: Phase
) -> None:
    copy_to_redis(settings, add_account("alice", fruit="apple"), "apple")
    switch(settings, phase)
    monolith_server, service_server = serve_pair(
        settings, key_file, monolith_port=free_port(), service_port=free_port()
    )
    with service_server, monolith_server as url:
        log_in(page, url, "alice")
        expect(page.locator("#phase")).to_have_text(phase.value)
        expect(fruit_items(page)).to_have_text(["alice: apple"])
        choose_fruit(page, "pear")
        expect(fruit_items(page)).to_have_text(["alice: pear"])
        page.reload()
        expect(fruit_items(page)).to_have_text(["alice: pear"])
