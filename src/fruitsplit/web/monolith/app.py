"""The monolith's ASGI app, built by a factory from already wired components."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from fruitsplit.config import load_monolith_settings
from fruitsplit.web.middleware import RequestMetrics, SecurityHeaders
from fruitsplit.web.monolith import routes
from fruitsplit.wiring import Monolith, build_monolith


def page_headers(fruits_endpoint_external: str | None) -> dict[str, str]:
    """Security headers; the page may call the fruits service only at its public address."""
    connect = "'self'"
    if fruits_endpoint_external:
        parts = urlsplit(fruits_endpoint_external)
        connect += f" {parts.scheme}://{parts.netloc}"
    return {
        "Content-Security-Policy": (
            f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
            f" connect-src {connect}; form-action 'self'; frame-ancestors 'none';"
            " base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return PlainTextResponse(f"{exc.detail}\n", status_code=exc.status_code, headers=exc.headers)


def create_app(monolith: Monolith) -> Starlette:
    """The app owns `monolith`: it opens it at start-up and closes it at shutdown."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await monolith.open()
        try:
            yield
        finally:
            await monolith.close()

    app = Starlette(
        routes=[
            Route("/", routes.index, methods=["GET"]),
            Route("/login", routes.login, methods=["POST"]),
            Route("/logout", routes.logout_link, methods=["GET"]),
            Route("/logout", routes.logout, methods=["POST"]),
            Route("/fruit", routes.set_fruit, methods=["PUT", "POST"]),
            Route("/token", routes.token, methods=["GET"]),
            Route("/.well-known/jwks.json", routes.jwks, methods=["GET"]),
            Route("/metrics", routes.metrics, methods=["GET"]),
            Route("/healthz", routes.health, methods=["GET"]),
            Mount(
                "/static",
                StaticFiles(packages=[("fruitsplit.web.monolith", "static")]),
                name="static",
            ),
        ],
        middleware=[
            Middleware(RequestMetrics, metrics=monolith.metrics),
            Middleware(
                SecurityHeaders,
                headers=page_headers(monolith.settings.fruits_endpoint_external),
            ),
        ],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.monolith = monolith
    app.state.templates = jinja2.Environment(
        loader=jinja2.PackageLoader("fruitsplit.web.monolith", "templates"),
        autoescape=True,
        # Synchronous rendering: the page needs no awaits, and async Jinja is ~4x slower.
        enable_async=False,
        undefined=jinja2.StrictUndefined,
    )
    return app


def create_app_from_env() -> Starlette:
    """Factory for `uvicorn --factory` and worker processes: settings from the environment."""
    return create_app(build_monolith(load_monolith_settings()))
