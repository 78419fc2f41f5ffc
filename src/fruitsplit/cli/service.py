"""`fruits-service` (and `fruits serve service`): run the fruits microservice."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from fruitsplit.cli import actions
from fruitsplit.config import (
    FruitsServiceSettings,
    load_fruits_service_settings,
)
from fruitsplit.wiring import build_fruits_service


def load_settings(**overrides: object) -> FruitsServiceSettings:
    given = {name: value for name, value in overrides.items() if value is not None}
    return actions.run_or_fail(lambda: load_fruits_service_settings(**given))


def serve_fruits_service(settings: FruitsServiceSettings) -> None:
    """Run the service until interrupted; a bad key or setting fails before it listens."""
    actions.configure_logging(settings.log_level)
    # Loads the keys and checks the Redis endpoint; nothing connects yet.
    service = actions.run_or_fail(lambda: build_fruits_service(settings))
    asyncio.run(service.close())
    actions.run_workers(
        "fruitsplit.web.fruits_service.app:create_app_from_env",
        settings,
        access_log=settings.access_log,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fruits-service",
        description=(
            "The fruits microservice: every user's fruit from Redis, as JSON; writes need"
            " the monolith's token. Configured by environment variables (REDIS_ENDPOINT,"
            " PUBLIC_KEY_FILE, JWKS_URL, HTTP_ORIGIN, ...)."
        ),
    )
    parser.add_argument("--host", help="address to listen on [env: HOST]")
    parser.add_argument("--port", type=int, help="port to listen on [env: PORT]")
    parser.add_argument("--workers", type=int, help="worker processes [env: WEB_CONCURRENCY]")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    serve_fruits_service(load_settings(host=args.host, port=args.port, workers=args.workers))
    return 0


def run() -> None:
    sys.exit(main())
