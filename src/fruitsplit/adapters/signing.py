"""ES512 signing keys: load, generate, serialize, sign, and publish as JWKS."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES512"
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


class TokenSigner:
    """Signs claims with one private key and publishes its public half."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._key = private_key
        self.kid = thumbprint(private_key.public_key())

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def jwks(self) -> dict[str, Any]:
        jwk = public_jwk_members(self._key.public_key())
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": ALGORITHM}]}
