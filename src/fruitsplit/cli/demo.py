"""`fruits demo`: the whole system on embedded defaults, with users to log in as."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fruitsplit.cli import actions
from fruitsplit.config import MonolithSettings, load_monolith_settings
from fruitsplit.core.errors import UsernameTaken
from fruitsplit.wiring import build_monolith

DEMO_PASSWORD = "fruits-demo"
# The article's people: (username, is_super, fruit).
DEMO_USERS = (("michael", False, "orange"), ("anna", False, "apple"), ("marian", True, "pineapple"))


async def _seed(settings: MonolithSettings) -> None:
    monolith = build_monolith(settings)
    await monolith.open()
    try:
        for username, is_super, fruit in DEMO_USERS:
            try:
                user = await monolith.accounts.create_user(username, DEMO_PASSWORD)
            except UsernameTaken:
                continue
            if is_super:
                await monolith.accounts.set_super(user.id, True)
                user = await monolith.accounts.fetch_user(user.id)
            await monolith.fruits.choose_fruit(user, fruit)
    finally:
        await monolith.close()


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
    settings = actions.run_or_fail(lambda: load_monolith_settings(**overrides))
    if not settings.private_key_file.exists():
        actions.write_key_pair(settings.private_key_file)
    actions.run_or_fail(lambda: asyncio.run(_seed(settings)))
    url = f"http://{settings.host}:{settings.port}/"
    print(f"Open {url} and log in as marian / {DEMO_PASSWORD} (super user)")  # noqa: T201
    print(f"or as michael / {DEMO_PASSWORD}. Ctrl-C stops it.")  # noqa: T201
    actions.serve_monolith(settings)
