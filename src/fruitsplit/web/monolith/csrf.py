"""Refusing state changes that a browser sends on behalf of another site.

Browsers mark every request with Sec-Fetch-Site and send Origin on POST; a
plain client (curl, the original's tests) sends neither and is let through,
since it carries no cookie another site could have planted.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

_SAME_SITE_VALUES = frozenset({"same-origin", "none"})


def is_from_browser(request: Request) -> bool:
    return "sec-fetch-site" in request.headers or "origin" in request.headers


def is_cross_site(request: Request) -> bool:
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in _SAME_SITE_VALUES:
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    # Scheme may be rewritten by a TLS proxy; the host must match exactly.
    return urlsplit(origin).netloc != request.headers.get("host", "")


def is_same_secret(submitted: str | None, expected: str) -> bool:
    """Constant-time comparison, so the time taken says nothing about the secret."""
    return submitted is not None and hmac.compare_digest(submitted.encode(), expected.encode())
