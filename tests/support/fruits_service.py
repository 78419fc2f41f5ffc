"""The fruits service for tests: its settings, a live server, and tokens signed or forged here."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from fruitsplit.cli.children import stop_child
from fruitsplit.config import FruitsServiceSettings, load_fruits_service_settings
from fruitsplit.web.fruits_service.app import create_app
from fruitsplit.wiring import FruitsMicroservice, build_fruits_service
from tests.support.processes import BIN, free_port, wait_until_serving
from tests.support.servers import serve_in_thread

ORIGIN = "http://localhost:8080"
# Every variable the service reads: a developer's own must not leak into tests.
SERVICE_ENV_NAMES = (
    "REDIS_ENDPOINT",
    "REDIS_URL",
    "REDIS_TIMEOUT",
    "PUBLIC_KEY_FILE",
    "JWKS_URL",
    "JWKS_MAX_AGE",
    "JWKS_COOLDOWN",
    "JWKS_TIMEOUT",
    "HTTP_ORIGIN",
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "TOKEN_LEEWAY",
    "TOKEN_CACHE_SIZE",
    "ACCESS_LOG",
    "LOG_LEVEL",
)


def clear_service_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVICE_ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def service_settings(redis_endpoint: str, **overrides: object) -> FruitsServiceSettings:
    return load_fruits_service_settings(redis_endpoint=redis_endpoint, **overrides)


@dataclass
class RunningService:
    url: str
    service: FruitsMicroservice

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)


@contextmanager
def running_service(settings: FruitsServiceSettings, **wiring: Any) -> Iterator[RunningService]:
    """The service under real uvicorn on a free port; its clients are closed on exit."""
    service = build_fruits_service(settings, **wiring)
    with serve_in_thread(create_app(service)) as url:
        yield RunningService(url, service)


@contextmanager
def service_process(env: Mapping[str, str], *, timeout_s: float = 30.0) -> Iterator[str]:
    """`fruits-service` as its own process on a free port; yields its URL, stops it on exit.

    A process of its own, unlike serve_in_thread: a load test's client and the
    server then do not take turns on one interpreter lock.
    """
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "fruits-service")],
        env={**os.environ, "PORT": str(port), "ACCESS_LOG": "false", **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, timeout_s=timeout_s)
        yield url
    finally:
        stop_child(process, timeout_s=timeout_s)
        assert process.stderr is not None
        process.stderr.close()


def public_key_path(private_key_file: Path) -> Path:
    return private_key_file.with_name(private_key_file.name + ".pub")


def claims_for(
    user_id: int = 7,
    username: str = "marian",
    *,
    is_super: bool = False,
    lifetime_s: float = 60,
    **overrides: Any,
) -> dict[str, Any]:
    """The monolith's claims for a user, valid for `lifetime_s`; overrides replace or add."""
    claims: dict[str, Any] = {
        "sub": f"user:{user_id}",
        "aud": "service:fruits",
        "exp": int(time.time() + lifetime_s),
        "super": is_super,
        "username": username,
    }
    claims.update(overrides)
    return claims


def sign_es512(
    claims: dict[str, Any], key: ec.EllipticCurvePrivateKey, *, kid: str | None = None
) -> str:
    """A real ES512 token; without `kid` it is what the original (Go) monolith issues."""
    headers = {"kid": kid} if kid is not None else None
    return jwt.encode(claims, key, algorithm="ES512", headers=headers)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token with any header and signature, as an attacker would write it."""
    return ".".join(
        [
            b64url(json.dumps(header).encode()),
            b64url(json.dumps(claims).encode()),
            b64url(signature),
        ]
    )


def forge_hs512_with_public_key(claims: dict[str, Any], public_pem: bytes) -> str:
    """The algorithm-confusion attack: HS512 keyed with the service's public key text."""
    header = {"alg": "HS512", "typ": "JWT"}
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{b64url(signature)}"
