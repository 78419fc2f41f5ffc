"""ASGI middleware shared by the apps: request timing by route template, security headers."""

from __future__ import annotations

import time
from typing import Protocol

from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class TimedMetrics(Protocol):
    """What RequestMetrics needs: the monolith's Metrics and the service's ServiceMetrics."""

    request_duration: Histogram


class RequestMetrics:
    """Times every HTTP request and labels it by route template, never by raw path."""

    def __init__(self, app: ASGIApp, metrics: TimedMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.request_duration.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.raw_headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)
