"""Chromium for Playwright (the system's, never a download), and set-up that runs beside it."""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fruitsplit.config import MonolithSettings
from fruitsplit.core.users import User
from tests.support.accounts import add_user

DEBIAN_CHROMIUM = Path("/usr/bin/chromium")
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


def add_user_beside_playwright(
    settings: MonolithSettings,
    username: str,
    password: str = "correct horse",
    *,
    is_super: bool = False,
    fruit: str | None = None,
) -> User:
    """`add_user`, run in a worker thread.

    Playwright's sync API keeps an event loop running on the test's thread, where
    `asyncio.run()` (which `add_user` uses) refuses to start.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="add-user") as pool:
        return pool.submit(
            add_user, settings, username, password, is_super=is_super, fruit=fruit
        ).result()
