"""`monolith -serve` as a real process on a free port, and browser-less sessions against it."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from fruitsplit.cli.children import stop_child
from tests.support.processes import BIN, free_port, wait_until_serving


@contextmanager
def serving_monolith(env: Mapping[str, str], log_path: Path) -> Iterator[str]:
    """Run `monolith -serve` with `env` and a free PORT; yield its URL; output to `log_path`."""
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(BIN / "monolith"), "-serve"],
            env={**os.environ, **env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        stop_child(process, timeout_s=30)


@contextmanager
def logged_in(url: str, username: str, password: str) -> Iterator[httpx.Client]:
    """An HTTP client holding `username`'s session (no Origin header: as curl sends)."""
    with httpx.Client(base_url=url, timeout=10.0) as client:
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, f"login as {username}: {response.status_code}"
        yield client


def wait_for(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.1)
