"""Chromium for Playwright (the system's, never a download), and steps a person takes."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse"
INSTALL_HINT = "install Debian's chromium: apt-get install chromium (or set CHROMIUM_PATH)"

# The test network is closed: without these Chromium keeps trying to reach Google's
# services and fills the logs with refused connections.
_QUIET_ARGS = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> Path | None:
    """CHROMIUM_PATH if set, else Debian's chromium, else `chromium` on PATH."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return Path(configured)
    if DEBIAN_CHROMIUM.exists():
        return DEBIAN_CHROMIUM
    found = shutil.which("chromium")
    return Path(found) if found else None


def chromium_args() -> list[str]:
    # Chromium refuses to start its sandbox as root; only then is it switched off.
    sandbox = ["--no-sandbox"] if os.geteuid() == 0 else []
    return [*sandbox, *_QUIET_ARGS]


def fill_login_form(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in", exact=True).click()


def log_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    fill_login_form(page, url, username, password)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    # page.js hooks the Token button on DOMContentLoaded; "load" comes after it.
    page.wait_for_load_state("load")


def fruit_items(page: Page) -> Locator:
    return page.get_by_role("region", name="Everyone's fruits").get_by_role("listitem")


def choose_fruit(page: Page, fruit: str) -> None:
    page.get_by_label("Favourite fruit").select_option(fruit)
    page.get_by_role("button", name="Save fruit").click()
