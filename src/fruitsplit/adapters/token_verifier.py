"""Verifying the monolith's ES512 tokens: public keys from PEM files and a JWKS URL, and a cache.

ES512 is the only algorithm: it is never read from the token's header, so
`alg: none`, HS512 "signed" with the public key's PEM text as the secret, or
ES256 are refused before any key is used. The header's `kid` only selects among
keys configured here; `jku`, `x5u` and every other URL a token names are never
fetched. A token's size is bounded before anything parses it.

Exception tree (every failure of a token, whatever its cause):

    FruitsError (core.errors)
     +-- InvalidToken(kind, reason)   kind: too_large, malformed, algorithm,
          |                                 unknown_key, signature, claims
          +-- TokenExpired            kind: expired
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from fruitsplit.adapters.signing import (
    ALGORITHM,
    thumbprint,
)
from fruitsplit.core.claims import TokenSubject, check_claims
from fruitsplit.core.errors import InvalidToken, TokenExpired

log = logging.getLogger(__name__)

# A token is a few hundred bytes; a bound far above that stops a megabyte header
# from reaching the base64 and JSON decoders.
MAX_TOKEN_LENGTH = 8192
MAX_KID_LENGTH = 256
MAX_JWKS_BYTES = 256 * 1024
MAX_JWKS_KEYS = 32
DEFAULT_JWKS_MAX_AGE_S = 300.0
DEFAULT_JWKS_COOLDOWN_S = 30.0
DEFAULT_CACHE_SIZE = 10_000
# A cached token is verified again after this long even if it has not expired,
# so a key withdrawn from the JWKS stops being honoured within it.
MAX_CACHE_AGE_S = 300.0
_P521_COORDINATE_BYTES = 66
# Headers whose meaning the verifier would have to honour (RFC 7515 crit, RFC 7797 b64).
_REFUSED_HEADERS = ("crit", "b64")
# What parsing hostile JSON or base64 may raise; RecursionError for deep nesting.
_PARSE_ERRORS = (jwt.PyJWTError, ValueError, TypeError, RecursionError)

JwksFetchListener = Callable[[str], None]


def parse_jwks(document: object) -> dict[str, ec.EllipticCurvePublicKey]:
    """The P-521 signing keys of a JWKS document, by `kid` (its thumbprint when it has none).

    Entries for other key types, curves, algorithms or uses are skipped, and so
    are malformed ones (with a warning): one bad entry must not withdraw the
    others. Raises ValueError when the document is not a JWKS at all.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError('a JWKS document is an object with a "keys" list')
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in document["keys"][:MAX_JWKS_KEYS]:
        try:
            kid, key = _jwk_entry(entry)
        except ValueError as error:
            log.warning("skipping a JWKS entry: %s", error)
            continue
        if key is not None:
            keys[kid] = key
    return keys


def _jwk_entry(entry: object) -> tuple[str, ec.EllipticCurvePublicKey | None]:
    if not isinstance(entry, dict):
        raise ValueError("entry is not an object")
    if (
        entry.get("kty") != "EC"
        or entry.get("crv") != "P-521"
        or entry.get("alg", ALGORITHM) != ALGORITHM
        or entry.get("use", "sig") != "sig"
    ):
        return "", None
    numbers = ec.EllipticCurvePublicNumbers(
        _jwk_coordinate(entry.get("x")), _jwk_coordinate(entry.get("y")), ec.SECP521R1()
    )
    # Raises ValueError for a point that is not on the curve.
    key = numbers.public_key()
    kid = entry.get("kid", thumbprint(key))
    if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
        raise ValueError("kid must be a non-empty string")
    return kid, key


def _jwk_coordinate(value: object) -> int:
    if not isinstance(value, str) or not value.isascii():
        raise ValueError("x and y must be base64url strings")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except binascii.Error:
        raise ValueError("x and y must be base64url strings") from None
    if len(raw) != _P521_COORDINATE_BYTES:
        raise ValueError(f"a P-521 coordinate is {_P521_COORDINATE_BYTES} bytes, not {len(raw)}")
    return int.from_bytes(raw, "big")


@dataclass(frozen=True, slots=True)
class _Verified:
    subject: TokenSubject
    expires_at: float  # exp plus the leeway, epoch seconds
    recheck_at: float  # epoch seconds


class Es512TokenVerifier:
    """Verifies tokens against the configured keys and checks their claims.

    Keys: those of the key file (a token without `kid`, as the original
    monolith signs, is tried against these), and those of the JWKS URL,
    fetched with the shared `http_client` and kept `jwks_max_age_s` seconds. A
    `kid` not among the known keys makes the JWKS be fetched again, but at most
    once per `jwks_cooldown_s` seconds whatever the tokens say, so random kids
    cannot flood the monolith; a failed fetch keeps the keys already known.
    Verified tokens are remembered (by SHA-256 of the token, at most
    `cache_size`, least recently used dropped first) until they expire, so a
    client reusing its token pays for one P-521 verification, not one per request.
    """

    def __init__(
        self,
        file_keys: Sequence[ec.EllipticCurvePublicKey],
        *,
        jwks_url: str | None = None,
        http_client: httpx.AsyncClient | None = None,
        leeway: timedelta = timedelta(seconds=5),
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        cache_size: int = DEFAULT_CACHE_SIZE,
        jwks_max_age_s: float = DEFAULT_JWKS_MAX_AGE_S,
        jwks_cooldown_s: float = DEFAULT_JWKS_COOLDOWN_S,
        on_jwks_fetch: JwksFetchListener | None = None,
    ) -> None:
        """Raises ValueError when no key could ever verify a token."""
        if not file_keys and jwks_url is None:
            raise ValueError("no public key: set PUBLIC_KEY_FILE or JWKS_URL")
        if jwks_url is not None and http_client is None:
            raise ValueError("a JWKS URL needs an HTTP client")
        if cache_size < 0:
            raise ValueError(f"cache size must not be negative, not {cache_size}")
        self._file_keys = {thumbprint(key): key for key in file_keys}
        self._jwks_url = jwks_url
        self._http = http_client
        self._leeway = leeway
        self._leeway_s = leeway.total_seconds()
        self._clock = clock
        self._monotonic = monotonic
        self._cache_size = cache_size
        self._cache: OrderedDict[bytes, _Verified] = OrderedDict()
        self._jwks_max_age_s = jwks_max_age_s
        self._jwks_cooldown_s = jwks_cooldown_s
        self._on_jwks_fetch = on_jwks_fetch
        self._jwks: dict[str, ec.EllipticCurvePublicKey] = {}
        self._jwks_fetched_at: float | None = None
        self._jwks_attempted_at: float | None = None
        # Since Python 3.10 a Lock binds to the running loop at first use, not here.
        self._jwks_lock = asyncio.Lock()
        self.jwks_fetch_attempts = 0

    async def verify(self, token: str) -> TokenSubject:
        """Return who `token` speaks for; raise InvalidToken (or TokenExpired) otherwise."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("too_large", f"token is longer than {MAX_TOKEN_LENGTH} characters")
        if not token.isascii():
            raise InvalidToken("malformed", "token is not a JWS compact serialization")
        digest = hashlib.sha256(token.encode("ascii")).digest()
        remembered = self._recall(digest)
        if remembered is not None:
            return remembered
        header = _header_of(token)
        kid = header.get("kid")
        candidates = await self._keys_for(kid)
        if not candidates:
            raise InvalidToken("unknown_key", "no known key has this token's kid")
        payload = _verified_payload(token, candidates)
        claims = _json_object(payload)
        now = self._clock()
        subject = check_claims(claims, now=datetime.fromtimestamp(now, tz=UTC), leeway=self._leeway)
        self._remember(
            digest,
            _Verified(
                subject,
                expires_at=float(claims["exp"]) + self._leeway_s,
                recheck_at=now + MAX_CACHE_AGE_S,
            ),
        )
        return subject

    def _recall(self, digest: bytes) -> TokenSubject | None:
        entry = self._cache.get(digest)
        if entry is None:
            return None
        now = self._clock()
        if now < entry.expires_at and now < entry.recheck_at:
            self._cache.move_to_end(digest)
            return entry.subject
        del self._cache[digest]
        if now >= entry.expires_at:
            raise TokenExpired()
        return None

    def _remember(self, digest: bytes, verified: _Verified) -> None:
        if self._cache_size == 0:
            return
        self._cache[digest] = verified
        self._cache.move_to_end(digest)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _keys_for(self, kid: object) -> list[ec.EllipticCurvePublicKey]:
        if kid is None:
            # The original monolith signs without kid, with the key of the key file.
            if self._file_keys:
                return list(self._file_keys.values())
            return list((await self._fresh_jwks(None)).values())
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise InvalidToken("malformed", f"kid must be a string of at most {MAX_KID_LENGTH}")
        key = self._file_keys.get(kid)
        if key is None and self._jwks_url is not None:
            key = (await self._fresh_jwks(kid)).get(kid)
        if key is not None:
            return [key]
        # Another issuer may name a key of the key file differently; those keys are
        # trusted whatever the token calls them, and they are few.
        return list(self._file_keys.values())

    async def _fresh_jwks(self, wanted_kid: str | None) -> Mapping[str, ec.EllipticCurvePublicKey]:
        if self._jwks_url is None:
            return {}
        fetched_at = self._jwks_fetched_at
        is_stale = fetched_at is None or self._monotonic() - fetched_at >= self._jwks_max_age_s
        if is_stale or (wanted_kid is not None and wanted_kid not in self._jwks):
            await self._refresh_jwks()
        return self._jwks

    async def _refresh_jwks(self) -> None:
        # One fetch at a time; those who waited find it done and do not fetch again.
        async with self._jwks_lock:
            now = self._monotonic()
            attempted_at = self._jwks_attempted_at
            if attempted_at is not None and now - attempted_at < self._jwks_cooldown_s:
                return
            self._jwks_attempted_at = now
            self.jwks_fetch_attempts += 1
            try:
                self._jwks = parse_jwks(await self._fetch_jwks_document())
            except (httpx.HTTPError, ValueError, RecursionError) as error:
                log.warning("JWKS fetch from %s failed: %s", self._jwks_url, error)
                self._notify("error")
                return
            self._jwks_fetched_at = now
            self._notify("ok")

    async def _fetch_jwks_document(self) -> object:
        assert self._http is not None
        assert self._jwks_url is not None
        # Redirects are not followed: the configured URL is the only one ever asked.
        async with self._http.stream(
            "GET", self._jwks_url, headers={"Accept": "application/json"}
        ) as response:
            if response.status_code != 200:
                raise ValueError(f"HTTP status {response.status_code}")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_JWKS_BYTES:
                    raise ValueError(f"document larger than {MAX_JWKS_BYTES} bytes")
        document: object = json.loads(body)
        return document

    def _notify(self, outcome: str) -> None:
        if self._on_jwks_fetch is not None:
            self._on_jwks_fetch(outcome)


def _header_of(token: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
    except _PARSE_ERRORS:
        raise InvalidToken("malformed", "token is not a JWS compact serialization") from None
    # Fixed, never taken from the header: what the header says is only checked.
    if header.get("alg") != ALGORITHM:
        raise InvalidToken("algorithm", f"alg must be {ALGORITHM}")
    if any(name in header for name in _REFUSED_HEADERS):
        raise InvalidToken("malformed", "critical header extensions are not supported")
    return header


def _verified_payload(token: str, keys: Sequence[ec.EllipticCurvePublicKey]) -> bytes:
    for key in keys:
        try:
            decoded = jwt.api_jws.decode_complete(token, key, algorithms=[ALGORITHM])
        except jwt.InvalidSignatureError:
            continue
        except _PARSE_ERRORS:
            raise InvalidToken("malformed", "token is not a JWS compact serialization") from None
        payload: bytes = decoded["payload"]
        return payload
    raise InvalidToken("signature", "signature does not verify")


def _json_object(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidToken("malformed", "claims are not JSON") from None
    if not isinstance(claims, dict):
        raise InvalidToken("malformed", "claims are not a JSON object")
    return claims
