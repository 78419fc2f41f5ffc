"""ES512 signing keys: load, generate, serialize, sign, and publish as JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES512"

log = logging.getLogger("fruitsplit.signing")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.DOTALL)
_P521_COORDINATE_BYTES = 66


class SigningKeyError(ValueError):
    """A key that is missing, unreadable or not P-521; the message is one line for operators."""


def load_private_key(pem: bytes, *, source: str) -> ec.EllipticCurvePrivateKey:
    """Load a P-521 key from SEC1 ("EC PRIVATE KEY", as openssl makes it) or PKCS#8 PEM."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP521R1):
        raise SigningKeyError(f"{source}: ES512 needs an EC P-521 (secp521r1) key")
    return key


def load_private_key_file(path: str | Path) -> ec.EllipticCurvePrivateKey:
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read private key {path}: {exc.strerror};"
            " create one with `fruits keygen` or set PRIVATE_KEY"
        ) from exc
    return load_private_key(pem, source=str(path))


def load_public_key(pem: bytes, *, source: str) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningKeyError(f"{source}: not a PEM public key ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP521R1):
        raise SigningKeyError(f"{source}: ES512 needs an EC P-521 (secp521r1) key")
    return key


def load_public_keys(pem: bytes, *, source: str) -> list[ec.EllipticCurvePublicKey]:
    """Load every PEM block of `pem` as a P-521 public key, in file order.

    A file may hold several keys (the current one and the next, during a
    rotation). Raises SigningKeyError, one line naming `source`, when there is
    no PEM block, a block is not a public key (a private key is refused rather
    than used: it must not be copied to the service), or a key is not P-521.
    """
    blocks = list(_PEM_BLOCK.finditer(pem))
    if not blocks:
        raise SigningKeyError(f"{source}: no PEM public key found")
    keys = []
    for number, block in enumerate(blocks, start=1):
        label = block.group(1).decode("ascii")
        if label != "PUBLIC KEY":
            raise SigningKeyError(
                f"{source}: block {number} is a {label}, not a PUBLIC KEY"
                " (make one with: openssl ec -in server.pem -pubout)"
            )
        keys.append(load_public_key(block.group(0), source=f"{source} (block {number})"))
    return keys


def load_public_key_file(path: str | Path) -> list[ec.EllipticCurvePublicKey]:
    """load_public_keys from a file; an unreadable file is a one-line SigningKeyError."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise SigningKeyError(
            f"cannot read public key file {path}: {exc.strerror};"
            " set PUBLIC_KEY_FILE (made by `openssl ec -in server.pem -pubout`) or JWKS_URL"
        ) from exc
    return load_public_keys(pem, source=str(path))


def generate_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP521R1())


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """SEC1 "EC PRIVATE KEY" PEM, the form `openssl ecparam -genkey` writes."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def public_key_pem(key: ec.EllipticCurvePublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM, the form `openssl ec -pubout` writes."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk_members(key: ec.EllipticCurvePublicKey) -> dict[str, str]:
    numbers = key.public_numbers()
    return {
        "crv": "P-521",
        "kty": "EC",
        "x": _b64url(numbers.x.to_bytes(_P521_COORDINATE_BYTES, "big")),
        "y": _b64url(numbers.y.to_bytes(_P521_COORDINATE_BYTES, "big")),
    }


def thumbprint(key: ec.EllipticCurvePublicKey) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), used as the token's `kid`."""
    canonical = json.dumps(public_jwk_members(key), sort_keys=True, separators=(",", ":"))
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def public_key_path(private_key_file: Path) -> Path:
    """Where the public half (and, during a rotation, the previous ones) is kept."""
    return private_key_file.with_name(private_key_file.name + ".pub")


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` whole, so a reader never sees half a key."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temporary, path)


def unique_keys(keys: Sequence[ec.EllipticCurvePublicKey]) -> list[ec.EllipticCurvePublicKey]:
    seen: set[str] = set()
    kept = []
    for key in keys:
        kid = thumbprint(key)
        if kid not in seen:
            seen.add(kid)
            kept.append(key)
    return kept


class TokenSigner:
    """Signs claims with the current private key and publishes every key still trusted.

    Built from files, it picks up a rotation without a restart: at most once per
    `check_every_s` it looks at the files' modification times and reloads them.
    Published keys are the signing key's public half plus any other public key in
    `<key file>.pub` (the previous key, until it is retired).
    """

    def __init__(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        published: Sequence[ec.EllipticCurvePublicKey] = (),
        *,
        key_file: Path | None = None,
        check_every_s: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key_file = key_file
        self._check_every_s = check_every_s
        self._monotonic = monotonic
        self._checked_at = monotonic()
        self._stamp = self._file_stamp()
        self._use(private_key, published)

    @classmethod
    def from_file(cls, key_file: Path, **options: Any) -> TokenSigner:
        private_key, published = _load_key_files(key_file)
        return cls(private_key, published, key_file=key_file, **options)

    def sign(self, claims: dict[str, Any]) -> str:
        self._reload_if_changed()
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        self._reload_if_changed()
        return {
            "keys": [
                {**public_jwk_members(key), "kid": thumbprint(key), "use": "sig", "alg": ALGORITHM}
                for key in self._published
            ]
        }

    def _use(
        self,
        private_key: ec.EllipticCurvePrivateKey,
        published: Sequence[ec.EllipticCurvePublicKey],
    ) -> None:
        self._key = private_key
        self.kid = thumbprint(private_key.public_key())
        # The signing key first: a client that reads only the first key still verifies.
        self._published = unique_keys([private_key.public_key(), *published])

    def _file_stamp(self) -> tuple[float | None, ...]:
        if self._key_file is None:
            return ()
        return tuple(_mtime(path) for path in (self._key_file, public_key_path(self._key_file)))

    def _reload_if_changed(self) -> None:
        if self._key_file is None or self._monotonic() - self._checked_at < self._check_every_s:
            return
        self._checked_at = self._monotonic()
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        try:
            private_key, published = _load_key_files(self._key_file)
        except SigningKeyError as error:
            # Keep signing with the keys we have; a broken file must not stop logins.
            log.error("keeping the current signing key: %s", error)
            return
        self._stamp = stamp
        if thumbprint(private_key.public_key()) != self.kid:
            log.warning(
                "signing key rotated: %s -> %s", self.kid, thumbprint(private_key.public_key())
            )
        self._use(private_key, published)


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime_ns / 1e9
    except OSError:
        return None


def _load_key_files(
    key_file: Path,
) -> tuple[ec.EllipticCurvePrivateKey, list[ec.EllipticCurvePublicKey]]:
    private_key = load_private_key_file(key_file)
    public_file = public_key_path(key_file)
    published = load_public_key_file(public_file) if public_file.exists() else []
    return private_key, published
