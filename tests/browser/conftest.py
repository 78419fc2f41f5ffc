"""A headless Chromium shared by a module's tests, a fresh context for each test.

Module scope, not session: Playwright's sync API keeps an event loop running on
the main thread while it lives, which would break the async tests collected after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from fruitsplit.config import MonolithSettings
from fruitsplit.core.users import User
from tests.support.accounts import add_user
from tests.support.browser import (
    INSTALL_HINT,
    chromium_args,
    find_chromium,
)

# Generous: the machine is small and shared; expectations return as soon as they hold.
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None or not executable.is_file():
        where = executable or "/usr/bin/chromium, CHROMIUM_PATH or PATH"
        pytest.fail(f"no Chromium at {where}; {INSTALL_HINT}")
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=chromium_args()
        )
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def add_account(settings: MonolithSettings) -> Callable[..., User]:
    return partial(add_user, settings)
