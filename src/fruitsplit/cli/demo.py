"""`fruits demo`: the whole system on embedded defaults, with users to log in as."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.cli import actions, keys
from fruitsplit.cli.children import ChildFailed, stop_child, wait_until_healthy
from fruitsplit.config import MonolithSettings, load_monolith_settings
from fruitsplit.core.phases import Phase
from fruitsplit.wiring import build_monolith

DEMO_PASSWORD = "fruits-demo"
# The article's people: (username, is_super, fruit).
DEMO_USERS = (("michael", False, "orange"), ("anna", False, "apple"), ("marian", True, "pineapple"))


async def _seed(settings: MonolithSettings) -> None:
    """A first run starts in the dark launch, so every fruit lands in both stores."""
    monolith = build_monolith(settings)
    await monolith.open(run_relay=False)
    try:
        await monolith.phases.switch(Phase.DUAL_WRITE)
        for username, is_super, fruit in DEMO_USERS:
            user = await monolith.accounts.create_user(username, DEMO_PASSWORD)
            if is_super:
                await monolith.accounts.set_super(user.id, True)
                user = await monolith.accounts.fetch_user(user.id)
            await monolith.fruits.choose_fruit(user, fruit)
    finally:
        await monolith.close()


@contextlib.contextmanager
def _redis_endpoint(directory: Path) -> Iterator[str | None]:
    """A configured Redis if there is one, else a redis-server of our own with its AOF here."""
    if os.environ.get("REDIS_URL") or os.environ.get("USE_REDIS_ENDPOINT"):
        yield None
        return
    server = RedisServerProcess(directory / "redis")
    actions.run_or_fail(server.start)
    try:
        yield server.endpoint
    finally:
        server.stop()


@contextlib.contextmanager
def _fruits_service(
    directory: Path,
    *,
    redis_env: dict[str, str],
    key_file: Path,
    host: str,
    port: int,
    origin: str,
) -> Iterator[str]:
    """The fruits service as a child process, trusting the monolith's key, stopped on exit."""
    url = f"http://{host}:{port}"
    env = {
        **os.environ,
        **redis_env,
        "PUBLIC_KEY_FILE": str(key_file.with_name(key_file.name + ".pub")),
        "HTTP_ORIGIN": origin,
        "HOST": host,
        "PORT": str(port),
    }
    with (directory / "fruits-service.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from fruitsplit.cli.service import run; run()"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Stopped by us, after the monolith, not by the terminal's Ctrl-C.
            start_new_session=True,
        )
    try:
        try:
            wait_until_healthy(url, process)
        except ChildFailed as error:
            actions.fail(f"the fruits service {error}; see {directory / 'fruits-service.log'}")
        yield url
    finally:
        stop_child(process, timeout_s=10)


def run_demo(directory: Path, *, host: str | None, port: int | None, service_port: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, object] = {
        "db_file": directory / "monolith.db",
        "private_key_file": directory / "server.pem",
    }
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    first_run = not (directory / "monolith.db").exists()
    with contextlib.ExitStack() as running:
        embedded_endpoint = running.enter_context(_redis_endpoint(directory))
        if embedded_endpoint is not None:
            overrides["redis_endpoint"] = embedded_endpoint
        settings = actions.run_or_fail(lambda: load_monolith_settings(**overrides))
        actions.configure_logging(settings.log_level)
        if not settings.private_key_file.exists():
            keys.write_key_pair(settings.private_key_file)
        page_url = f"http://{settings.host}:{settings.port}"
        service_url = running.enter_context(
            _fruits_service(
                directory,
                redis_env=(
                    {"REDIS_URL": settings.redis_url}
                    if settings.redis_url
                    else {"REDIS_ENDPOINT": settings.redis_endpoint}
                ),
                key_file=settings.private_key_file,
                host=settings.host,
                port=service_port,
                origin=page_url,
            )
        )
        settings = settings.model_copy(
            update={"fruits_endpoint": service_url, "fruits_endpoint_external": service_url}
        )
        if first_run:
            actions.run_or_fail(lambda: asyncio.run(_seed(settings)))
        redis_at = embedded_endpoint or settings.redis_url or settings.redis_endpoint
        lines = (
            f"Redis: {redis_at}; database: {settings.db_file}",
            f"Fruits service: {service_url} (GET / lists every fruit as JSON)",
            f"Open {page_url}/ and log in as marian / {DEMO_PASSWORD} (super user)",
            f"or as michael / {DEMO_PASSWORD}. Ctrl-C stops it all.",
            f"Switch phases with: USE_DB_FILE={settings.db_file} fruits phase set PHASE",
        )
        print("\n".join(lines), flush=True)  # noqa: T201
        actions.serve_monolith(settings)
