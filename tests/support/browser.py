"""Chromium for Playwright: the system's, never a download."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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
