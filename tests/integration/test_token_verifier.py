"""Public keys as openssl writes them, JWKS documents, and the verifier's refusals at start-up."""

import shutil
import subprocess
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from fruitsplit.adapters.signing import (
    SigningKeyError,
    generate_private_key,
    load_public_key_file,
    load_public_keys,
    private_key_pem,
    public_jwk_members,
    public_key_pem,
    thumbprint,
)
from fruitsplit.adapters.token_verifier import Es512TokenVerifier, parse_jwks
from fruitsplit.core.errors import InvalidToken
from tests.support.fruits_service import claims_for, sign_es512


@pytest.fixture(scope="module")
def openssl():
    path = shutil.which("openssl")
    if path is None:
        pytest.fail("these tests need openssl: apt-get install openssl")
    return path


def openssl_public_key(openssl, folder, name, curve="secp521r1"):
    private = folder / f"{name}.pem"
    subprocess.run(
        [openssl, "ecparam", "-name", curve, "-genkey", "-noout", "-out", str(private)], check=True
    )
    public = subprocess.run(
        [openssl, "ec", "-in", str(private), "-pubout"], check=True, capture_output=True
    )
    return public.stdout


def test_a_file_with_several_openssl_public_keys_loads_them_all_in_order(openssl, tmp_path):
    first = openssl_public_key(openssl, tmp_path, "first")
    second = openssl_public_key(openssl, tmp_path, "second")
    both = tmp_path / "keys.pub"
    both.write_bytes(first + b"\n" + second)

    keys = load_public_key_file(both)

    assert [public_key_pem(key) for key in keys] == [first, second]


@pytest.mark.parametrize(
    ("pem", "message"),
    [
        (b"", "no PEM public key"),
        (b"hello", "no PEM public key"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a PEM public key"),
    ],
)
def test_unusable_key_files_are_refused_in_one_line(pem, message):
    with pytest.raises(SigningKeyError, match=message) as caught:
        load_public_keys(pem, source="keys.pub")
    assert "\n" not in str(caught.value)


def test_a_private_key_is_refused_rather_than_used():
    with pytest.raises(SigningKeyError, match="block 1 is a EC PRIVATE KEY"):
        load_public_keys(private_key_pem(generate_private_key()), source="server.pem")


def test_a_key_on_another_curve_is_refused(openssl, tmp_path):
    p256 = openssl_public_key(openssl, tmp_path, "p256", curve="prime256v1")
    with pytest.raises(SigningKeyError, match="P-521"):
        load_public_keys(p256, source="p256.pub")


def test_a_missing_key_file_names_the_settings_to_fix(tmp_path):
    with pytest.raises(SigningKeyError, match=r"PUBLIC_KEY_FILE .* or JWKS_URL"):
        load_public_key_file(tmp_path / "none.pub")


def test_parse_jwks_keeps_p521_signing_keys_and_skips_everything_else():
    good = generate_private_key().public_key()
    no_kid = generate_private_key().public_key()
    p256 = ec.generate_private_key(ec.SECP256R1()).public_key()
    document = {
        "keys": [
            {**public_jwk_members(good), "kid": "good", "alg": "ES512", "use": "sig"},
            {**public_jwk_members(no_kid)},
            {**public_jwk_members(good), "kid": "for-encryption", "use": "enc"},
            {**public_jwk_members(good), "kid": "es256", "alg": "ES256"},
            {"kty": "EC", "crv": "P-256", "kid": "p256", "x": "AA", "y": "AA"},
            {**public_jwk_members(good), "kid": "off-curve", "x": public_jwk_members(p256)["x"]},
            {**public_jwk_members(good), "kid": "short", "x": "AAAA"},
            {**public_jwk_members(good), "kid": 5},
            "not an object",
        ]
    }

    keys = parse_jwks(document)

    assert set(keys) == {"good", thumbprint(no_kid)}
    assert thumbprint(keys["good"]) == thumbprint(good)


@pytest.mark.parametrize("document", [[], {}, {"keys": {}}, "keys", None])
def test_parse_jwks_refuses_what_is_not_a_jwks(document):
    with pytest.raises(ValueError, match="JWKS"):
        parse_jwks(document)


def test_a_verifier_needs_a_key_file_or_a_jwks_url():
    with pytest.raises(ValueError, match="PUBLIC_KEY_FILE or JWKS_URL"):
        Es512TokenVerifier([])
    with pytest.raises(ValueError, match="HTTP client"):
        Es512TokenVerifier([], jwks_url="http://127.0.0.1:9/jwks.json")


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_cached_token_is_dropped_at_its_exp():
    key = generate_private_key()
    claims = claims_for(lifetime_s=60)
    clock = FakeClock(claims["exp"] - 60)
    verifier = Es512TokenVerifier([key.public_key()], leeway=timedelta(seconds=5), clock=clock)
    token = sign_es512(claims, key)
    assert (await verifier.verify(token)).user_id == 7
    clock.now = claims["exp"] + 4.9
    assert (await verifier.verify(token)).user_id == 7
    clock.now = claims["exp"] + 5
    with pytest.raises(InvalidToken, match="expired"):
        await verifier.verify(token)
