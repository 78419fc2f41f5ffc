"""`fruits demo`: the whole system on embedded defaults, with users to log in as."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.cli import actions
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


def run_demo(directory: Path, *, host: str | None, port: int | None) -> None:
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
    with _redis_endpoint(directory) as embedded_endpoint:
        if embedded_endpoint is not None:
            overrides["redis_endpoint"] = embedded_endpoint
        settings = actions.run_or_fail(lambda: load_monolith_settings(**overrides))
        if not settings.private_key_file.exists():
            actions.write_key_pair(settings.private_key_file)
        actions.configure_logging(settings.log_level)
        if first_run:
            actions.run_or_fail(lambda: asyncio.run(_seed(settings)))
        url = f"http://{settings.host}:{settings.port}/"
        redis_at = embedded_endpoint or settings.redis_url or settings.redis_endpoint
        print(f"Redis: {redis_at}; database: {settings.db_file}")  # noqa: T201
        print(f"Open {url} and log in as marian / {DEMO_PASSWORD} (super user)")  # noqa: T201
        print(f"or as michael / {DEMO_PASSWORD}. Ctrl-C stops it.")  # noqa: T201
        actions.serve_monolith(settings)
