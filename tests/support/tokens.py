"""Checking an ES512 token without the code under test: plain `cryptography` and base64."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify_es512(token: str, public_pem: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (header, claims) if the JWS signature is valid for the key; raise otherwise."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    signature = b64url_decode(signature_b64)
    assert len(signature) == 132, "an ES512 signature is r||s, 66 bytes each"
    r = int.from_bytes(signature[:66], "big")
    s = int.from_bytes(signature[66:], "big")
    key = load_pem_public_key(public_pem)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    key.verify(
        encode_dss_signature(r, s),
        f"{header_b64}.{claims_b64}".encode(),
        ec.ECDSA(hashes.SHA512()),
    )
    return json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(claims_b64))
