"""Running the console scripts as a user would: real processes, real environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from fruitsplit.cli.children import wait_until_healthy

BIN = Path(sys.executable).parent


def run_cli(
    *args: str, env: Mapping[str, str], timeout_s: float = 60.0, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `fruits ...` or `monolith ...` from this interpreter's virtualenv."""
    command, *rest = args
    return subprocess.run(
        [str(BIN / command), *rest],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout_s,
        input=input_text,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


wait_until_serving = wait_until_healthy
