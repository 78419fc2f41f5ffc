"""Child server processes: waiting until one answers, and stopping one cleanly."""

from __future__ import annotations

import signal
import subprocess
import time
from typing import Any

import httpx

_POLL_INTERVAL_S = 0.1


class ChildFailed(RuntimeError):
    """The child exited, or did not answer in time; the message says which."""


def wait_until_healthy(
    url: str, process: subprocess.Popen[Any], *, timeout_s: float = 30.0
) -> None:
    """Return once `url`/healthz answers 200; raise ChildFailed if `process` exits first
    or `timeout_s` seconds pass."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChildFailed(f"exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(_POLL_INTERVAL_S)
    raise ChildFailed(f"did not answer at {url} within {timeout_s:g} s")


def stop_child(process: subprocess.Popen[Any], *, timeout_s: float = 30.0) -> None:
    """Ask `process` to stop as Ctrl-C would; kill it if it has not after `timeout_s`."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
