"""Keys as openssl makes them, in both PEM forms, and tokens checked independently."""

import shutil
import subprocess

import pytest

from fruitsplit.adapters.signing import (
    SigningKeyError,
    TokenSigner,
    load_private_key,
    load_private_key_file,
    public_jwk_members,
    thumbprint,
)
from tests.support.tokens import b64url_decode, verify_es512


@pytest.fixture(scope="module")
def openssl():
    path = shutil.which("openssl")
    if path is None:
        pytest.fail("these tests need openssl: apt-get install openssl")
    return path


@pytest.fixture(scope="module")
def openssl_key(openssl, tmp_path_factory):
    folder = tmp_path_factory.mktemp("openssl")
    pem = folder / "server.pem"
    subprocess.run(
        [openssl, "ecparam", "-name", "secp521r1", "-genkey", "-noout", "-out", str(pem)],
        check=True,
    )
    public = subprocess.run(
        [openssl, "ec", "-in", str(pem), "-pubout"], check=True, capture_output=True
    )
    (folder / "server.pem.pub").write_bytes(public.stdout)
    return pem


def test_a_token_signed_with_an_openssl_key_verifies_with_its_openssl_public_key(openssl_key):
    assert openssl_key.read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
    signer = TokenSigner(load_private_key_file(openssl_key))
    token = signer.sign({"sub": "user:1", "aud": "service:fruits", "exp": 2_000_000_000})
    header, claims = verify_es512(token, openssl_key.with_name("server.pem.pub").read_bytes())
    assert header == {"alg": "ES512", "kid": signer.kid, "typ": "JWT"}
    assert claims["sub"] == "user:1"


def test_a_pkcs8_key_loads_too(openssl, openssl_key):
    pkcs8 = subprocess.run(
        [openssl, "pkcs8", "-topk8", "-nocrypt", "-in", str(openssl_key)],
        check=True,
        capture_output=True,
    ).stdout
    assert pkcs8.startswith(b"-----BEGIN PRIVATE KEY-----")
    key = load_private_key(pkcs8, source="PRIVATE_KEY")
    assert thumbprint(key.public_key()) == thumbprint(
        load_private_key_file(openssl_key).public_key()
    )


def test_kid_is_the_rfc7638_thumbprint_of_the_public_jwk(openssl_key):
    key = load_private_key_file(openssl_key).public_key()
    members = public_jwk_members(key)
    assert list(members) == ["crv", "kty", "x", "y"]
    assert len(b64url_decode(members["x"])) == len(b64url_decode(members["y"])) == 66
    assert len(b64url_decode(thumbprint(key))) == 32


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"", "not an unencrypted PEM private key"),
        (
            b"-----BEGIN EC PRIVATE KEY-----\ngarbage\n-----END EC PRIVATE KEY-----\n",
            "not an unencrypted",
        ),
    ],
)
def test_unreadable_keys_are_refused_in_one_line(pem, message):
    with pytest.raises(SigningKeyError, match=message) as error:
        load_private_key(pem, source="PRIVATE_KEY")
    assert "\n" not in str(error.value)
