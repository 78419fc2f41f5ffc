"""The monolith's page in a real browser: logging in, choosing fruits, tokens, escaping."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt
import pytest
from playwright.sync_api import ConsoleMessage, Dialog, Page, Request, Response, expect

from fruitsplit.core.users import User
from tests.conftest import RunningMonolith
from tests.support.browser import (
    choose_fruit,
    fill_login_form,
    fruit_items,
    log_in,
)

pytestmark = pytest.mark.browser


def is_post_to(path: str, base_url: str) -> Callable[[Response], bool]:
    def matches(response: Response) -> bool:
        return response.request.method == "POST" and response.url == f"{base_url}{path}"

    return matches


def test_login_shows_own_username(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")

    log_in(page, running_monolith.url, "alice")

    expect(page.get_by_role("region", name="Your account")).to_contain_text("Logged in as alice")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_have_count(0)


def test_chosen_fruit_is_listed_as_username_and_fruit(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")
    log_in(page, running_monolith.url, "alice")

    choose_fruit(page, "banana")

    expect(fruit_items(page)).to_have_text(["alice: banana"])


def test_special_fruits_are_disabled_for_normal_user(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")

    log_in(page, running_monolith.url, "alice")

    picker = page.get_by_label("Favourite fruit")
    for fruit in ("pineapple", "kiwi"):
        expect(picker.get_by_role("option", name=fruit)).to_be_disabled()
    for fruit in ("apple", "banana", "orange", "pear"):
        expect(picker.get_by_role("option", name=fruit, exact=True)).to_be_enabled()


def test_forced_special_fruit_is_refused_with_403_for_normal_user(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice", fruit="apple")
    log_in(page, running_monolith.url, "alice")
    picker = page.get_by_label("Favourite fruit")
    picker.evaluate(
        """select => {
            select.querySelector("option[value=pineapple]").disabled = false;
            select.value = "pineapple";
        }"""
    )

    with page.expect_response(is_post_to("/fruit", running_monolith.url)) as refused:
        page.get_by_role("button", name="Save fruit").click()

    assert refused.value.status == 403
    expect(page.get_by_role("alert")).to_have_text("only super users may choose pineapple")
    expect(fruit_items(page)).to_have_text(["alice: apple"])


def test_super_user_can_choose_pineapple(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("root", is_super=True)
    log_in(page, running_monolith.url, "root")
    expect(
        page.get_by_label("Favourite fruit").get_by_role("option", name="pineapple")
    ).to_be_enabled()

    choose_fruit(page, "pineapple")

    expect(fruit_items(page)).to_have_text(["root: pineapple"])
    expect(page.get_by_role("alert")).to_have_count(0)


def test_token_button_stores_signed_token_for_user(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User], key_file: Path
) -> None:
    user = add_account("alice")
    log_in(page, running_monolith.url, "alice")

    asked_at = int(time.time())
    page.get_by_role("button", name="Token").click()
    expect(page.get_by_role("status")).to_have_text("Token stored")
    answered_at = time.time()

    token = page.evaluate("() => localStorage.getItem('token')")
    assert jwt.get_unverified_header(token)["alg"] == "ES512"
    claims = jwt.decode(
        token,
        key_file.with_name("server.pem.pub").read_bytes(),
        algorithms=["ES512"],
        audience="service:fruits",
        options={"require": ["exp", "sub", "aud"]},
    )
    assert claims["sub"] == f"user:{user.id}"
    assert claims["username"] == "alice"
    assert claims["super"] is False
    assert asked_at + 30 <= claims["exp"] <= answered_at + 30


def test_logout_shows_login_form_and_ends_session(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")
    log_in(page, running_monolith.url, "alice")
    [session_cookie] = [c for c in page.context.cookies() if c["name"] == "session"]

    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    assert page.request.get(f"{running_monolith.url}/token").status == 401
    # The old cookie must be dead on the server too, not only forgotten by the browser.
    with running_monolith.client(cookies={"session": session_cookie["value"]}) as client:
        assert client.get("/token").status_code == 401


def test_username_with_markup_is_shown_as_text(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    username = "<script>alert(1)</script>"
    add_account(username, fruit="apple")
    dialogs: list[str] = []

    def refuse(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", refuse)

    log_in(page, running_monolith.url, username)

    expect(fruit_items(page)).to_have_text([f"{username}: apple"])
    expect(page.get_by_role("region", name="Your account")).to_contain_text(
        f"Logged in as {username}"
    )
    expect(page.locator("#fruits script")).to_have_count(0)
    assert dialogs == []


def test_wrong_password_shows_error_with_401(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")

    with page.expect_response(is_post_to("/login", running_monolith.url)) as refused:
        fill_login_form(page, running_monolith.url, "alice", "wrong password")

    assert refused.value.status == 401
    expect(page.get_by_role("alert")).to_have_text("wrong username or password")
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()


def test_page_loads_only_own_assets_without_console_errors(
    page: Page, running_monolith: RunningMonolith, add_account: Callable[..., User]
) -> None:
    add_account("alice")
    origin = f"{running_monolith.url}/"
    requested: list[str] = []
    errors: list[str] = []

    def record_request(request: Request) -> None:
        requested.append(request.url)

    def record_error(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("request", record_request)
    page.on("console", record_error)
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, running_monolith.url, "alice")
    page.get_by_role("button", name="Token").click()
    expect(page.get_by_role("status")).to_have_text("Token stored")
    choose_fruit(page, "pear")
    expect(fruit_items(page)).to_have_text(["alice: pear"])
    page.wait_for_load_state("load")

    own_assets = {f"{origin}static/page.css", f"{origin}static/page.js", f"{origin}token"}
    assert own_assets <= set(requested)
    assert [url for url in requested if not url.startswith(origin)] == []
    assert errors == []
