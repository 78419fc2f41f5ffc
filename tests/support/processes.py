"""Running the console scripts as a user would: real processes, real environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

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


def wait_until_serving(
    url: str, process: subprocess.Popen[str], *, timeout_s: float = 30.0
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer in {timeout_s} s")
