"""CORS for the one origin the fruits service serves (the monolith's page), as the original."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_METHODS = "GET, POST, PUT"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Auth-Token"
PREFLIGHT_MAX_AGE_S = 600


class SingleOriginCors:
    """Every response names `origin` as allowed; a preflight is answered here, 204.

    The original service sends Access-Control-Allow-Origin on every response,
    whatever the request's Origin; the browser compares it with the page's
    origin, so a fixed value leaks nothing. `Vary: Origin` keeps shared caches
    correct should the value ever depend on the request. No credentials are
    allowed: the token travels in a header, never in a cookie.
    """

    def __init__(self, app: ASGIApp, *, origin: str) -> None:
        self.app = app
        self.response_headers = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
        ]
        self.preflight_headers = [
            *self.response_headers,
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_S).encode()),
            (b"content-length", b"0"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and _is_preflight(scope):
            await send(
                {"type": "http.response.start", "status": 204, "headers": self.preflight_headers}
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.response_headers]
            await send(message)

        await self.app(scope, receive, send_with_cors)


def _is_preflight(scope: Scope) -> bool:
    return any(name == b"access-control-request-method" for name, _ in scope["headers"])
