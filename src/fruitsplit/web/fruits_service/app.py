"""The fruits service's ASGI app, built by a factory from already wired components."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fruitsplit.config import load_fruits_service_settings
from fruitsplit.core.errors import FruitsError
from fruitsplit.web.errors import headers_for, status_for
from fruitsplit.web.fruits_service import routes
from fruitsplit.web.fruits_service.cors import SingleOriginCors
from fruitsplit.web.middleware import RequestMetrics
from fruitsplit.wiring import FruitsMicroservice, build_fruits_service

log = logging.getLogger(__name__)


def _error(status_code: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return routes.JsonResponse({"error": message}, status_code=status_code, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, exc.headers)


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FruitsError)
    return _error(status_for(exc), str(exc), headers_for(exc))


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    # A Redis outage is the service's trouble, not a bug: 503 asks clients to retry later.
    log.warning("Redis failed during %s %s: %r", request.method, request.url.path, exc)
    routes.service_of(request).metrics.store_errors.inc()
    return _error(503, "the fruit store is unavailable", {"Retry-After": "1"})


def create_app(service: FruitsMicroservice) -> Starlette:
    """The app owns `service`: it closes its Redis and HTTP clients at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await service.close()

    app = Starlette(
        routes=[
            Route("/", routes.list_fruits, methods=["GET"]),
            Route("/fruit/{id}", routes.get_fruit, methods=["GET"]),
            Route("/fruit", routes.set_fruit, methods=["PUT", "POST"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
            Route("/healthz", routes.health, methods=["GET"]),
            Route("/openapi.json", routes.openapi, methods=["GET"]),
        ],
        middleware=[
            Middleware(RequestMetrics, metrics=service.metrics),
            Middleware(SingleOriginCors, origin=service.settings.http_origin),
        ],
        exception_handlers={
            HTTPException: _http_error,
            FruitsError: _domain_error,
            RedisError: _store_unavailable,
        },
        lifespan=lifespan,
    )
    app.state.service = service
    return app


def create_app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment."""
    return create_app(build_fruits_service(load_fruits_service_settings()))
