"""Which tokens the fruits service accepts: forged, foreign and broken ones never write."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import jwt
import pytest
import redis
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fruitsplit.adapters.signing import (
    generate_private_key,
    load_private_key_file,
    public_jwk_members,
    public_key_pem,
    thumbprint,
)
from fruitsplit.core.record import FruitRecord, decode_record
from tests.support.accounts import add_user
from tests.support.fruits_service import (
    b64url,
    claims_for,
    clear_service_environment,
    forge,
    forge_hs512_with_public_key,
    public_key_path,
    running_service,
    service_settings,
    sign_es512,
)
from tests.support.servers import serve_in_thread


@pytest.fixture(autouse=True)
def _no_service_environment(monkeypatch):
    clear_service_environment(monkeypatch)


@pytest.fixture
def signing_key(key_file):
    return load_private_key_file(key_file)


@pytest.fixture
def service(empty_redis, key_file):
    settings = service_settings(empty_redis.endpoint, public_key_file=public_key_path(key_file))
    with running_service(settings) as running:
        yield running


@pytest.fixture
def client(service):
    with service.client() as http:
        yield http


@pytest.fixture
def db(empty_redis):
    with redis.Redis(port=empty_redis.port, decode_responses=True) as connection:
        yield connection


def set_fruit(http, token, fruit="pear"):
    return http.put("/fruit", data={"fruit": fruit}, headers={"X-Auth-Token": token})


# --- refused tokens ---------------------------------------------------------------------

OTHER_KEY = generate_private_key()
P256_KEY = ec.generate_private_key(ec.SECP256R1())


def _without(name):
    claims = claims_for()
    del claims[name]
    return claims


def _deeply_nested_header():
    header = "[" * 3000 + "]" * 3000
    return f"{b64url(header.encode())}.{b64url(b'{}')}.{b64url(b'x')}"


# Each maker gets the service's real private key and its public key PEM text.
REFUSED = {
    "signed with another key": lambda key, pem: sign_es512(claims_for(), OTHER_KEY),
    "another key, claiming the right kid": lambda key, pem: sign_es512(
        claims_for(), OTHER_KEY, kid=thumbprint(key.public_key())
    ),
    "for another audience": lambda key, pem: sign_es512(claims_for(aud="service:other"), key),
    "audience list without the service": lambda key, pem: sign_es512(
        claims_for(aud=["service:other"]), key
    ),
    "expired": lambda key, pem: sign_es512(claims_for(lifetime_s=-60), key),
    "no exp": lambda key, pem: sign_es512(_without("exp"), key),
    "exp as text": lambda key, pem: sign_es512(claims_for(exp="2000000000"), key),
    "alg none": lambda key, pem: forge({"alg": "none", "typ": "JWT"}, claims_for()),
    "alg none with a signature": lambda key, pem: forge({"alg": "none"}, claims_for(), b"x" * 132),
    "HS512 keyed with the public key PEM": lambda key, pem: forge_hs512_with_public_key(
        claims_for(), pem
    ),
    "ES256": lambda key, pem: jwt.encode(claims_for(), P256_KEY, algorithm="ES256"),
    "ES256 claiming to be ES512": lambda key, pem: forge(
        {"alg": "ES512"}, claims_for(), b"\x01" * 64
    ),
    "ES512 with a truncated signature": lambda key, pem: sign_es512(claims_for(), key)[:-10],
    "ES512 with the signature of other claims": lambda key, pem: ".".join(
        [
            *sign_es512(claims_for(username="mallory"), key).split(".")[:2],
            sign_es512(claims_for(), key).split(".")[2],
        ]
    ),
    "no sub": lambda key, pem: sign_es512(_without("sub"), key),
    "no username": lambda key, pem: sign_es512(_without("username"), key),
    "no super": lambda key, pem: sign_es512(_without("super"), key),
    "sub user:-1": lambda key, pem: sign_es512(claims_for(sub="user:-1"), key),
    "sub user:007": lambda key, pem: sign_es512(claims_for(sub="user:007"), key),
    "sub 7": lambda key, pem: sign_es512(claims_for(sub="7"), key),
    "sub user:7 with a newline": lambda key, pem: sign_es512(claims_for(sub="user:7\n"), key),
    "sub past 64 bits": lambda key, pem: sign_es512(claims_for(sub="user:" + "9" * 19), key),
    "super as the string true": lambda key, pem: sign_es512(claims_for(super="true"), key),
    "super as 1": lambda key, pem: sign_es512(claims_for(super=1), key),
    "username as a number": lambda key, pem: sign_es512(claims_for(username=42), key),
    "empty username": lambda key, pem: sign_es512(claims_for(username=""), key),
    "username with a lone surrogate": lambda key, pem: forge_signed_raw(
        key, b'{"alg":"ES512"}', claims_json_with_surrogate()
    ),
    "claims that are a list": lambda key, pem: forge_signed_raw(key, b'{"alg":"ES512"}', b"[1]"),
    "crit header": lambda key, pem: forge_signed_raw(
        key, b'{"alg":"ES512","crit":["exp"],"exp":1}', claims_json()
    ),
    "kid that is not a string": lambda key, pem: forge_signed_raw(
        key, b'{"alg":"ES512","kid":{"url":"http://x"}}', claims_json()
    ),
    "header nested 3000 deep": lambda key, pem: _deeply_nested_header(),
    "a 1 MB token": lambda key, pem: "e" * 1_000_000,
    "just under 8 KiB of garbage": lambda key, pem: "a." * 4000,
    "not base64": lambda key, pem: "a.b.c",
    "two parts": lambda key, pem: "a.b",
    # Raw UTF-8 bytes in the header, which the server reads as Latin-1.
    "non-ASCII": lambda key, pem: "ä.ö.ü".encode(),
}


def claims_json(**overrides) -> bytes:
    return json.dumps(claims_for(**overrides)).encode()


def claims_json_with_surrogate() -> bytes:
    return claims_json().replace(b'"marian"', b'"mari\\ud800an"')


def forge_signed_raw(key: ec.EllipticCurvePrivateKey, header: bytes, payload: bytes) -> str:
    """A correctly ES512-signed token whose header and claims are exactly these bytes."""
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA512())))
    signature = r.to_bytes(66, "big") + s.to_bytes(66, "big")
    return f"{signing_input}.{b64url(signature)}"


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_token_is_401_and_writes_nothing(db, client, signing_key, key_file, case):
    pem = public_key_path(key_file).read_bytes()
    token = REFUSED[case](signing_key, pem)
    response = set_fruit(client, token)
    assert response.status_code == 401, response.text
    assert response.json()["error"].startswith("invalid token: ")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert db.keys("*") == []


def test_refusals_say_what_was_wrong_without_echoing_the_token(client, signing_key):
    cases = {
        "expired": sign_es512(claims_for(lifetime_s=-60), signing_key),
        "alg must be ES512": forge({"alg": "none"}, claims_for()),
        "signature does not verify": sign_es512(claims_for(), OTHER_KEY),
        "super must be true or false": sign_es512(claims_for(super="true"), signing_key),
        "longer than 8192": "e" * 10_000,
    }
    for reason, token in cases.items():
        error = set_fruit(client, token).json()["error"]
        assert reason in error
        assert token[:20] not in error


def test_refused_tokens_are_counted_by_kind(client, signing_key):
    set_fruit(client, sign_es512(claims_for(lifetime_s=-60), signing_key))
    set_fruit(client, forge({"alg": "none"}, claims_for()))
    set_fruit(client, "e" * 10_000)
    text = client.get("/metrics").text
    for kind in ("expired", "algorithm", "too_large"):
        assert f'fruits_service_token_rejections_total{{kind="{kind}"}} 1.0' in text


# --- accepted tokens --------------------------------------------------------------------


def test_a_token_without_kid_as_the_original_issues_verifies_with_the_key_file(
    db, client, signing_key
):
    token = sign_es512(claims_for(3, "anna"), signing_key)
    assert "kid" not in jwt.get_unverified_header(token)
    assert set_fruit(client, token).status_code == 201
    assert decode_record(db.get("user:3")) == FruitRecord("anna", "pear")


def test_a_token_expired_within_the_leeway_is_accepted(client, signing_key):
    assert set_fruit(client, sign_es512(claims_for(lifetime_s=-2), signing_key)).status_code == 201


def test_an_audience_list_naming_the_service_is_accepted(client, signing_key):
    token = sign_es512(claims_for(aud=["service:other", "service:fruits"]), signing_key)
    assert set_fruit(client, token).status_code == 201


def test_a_reused_token_keeps_working_until_it_expires(empty_redis, key_file, signing_key):
    settings = service_settings(
        empty_redis.endpoint, public_key_file=public_key_path(key_file), token_leeway_s=0
    )
    token = sign_es512(claims_for(lifetime_s=1.5), signing_key)
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    with running_service(settings) as running, running.client() as http:
        assert [set_fruit(http, token).status_code for _ in range(3)] == [201, 201, 201]
        time.sleep(max(0.0, expires_at - time.time()) + 0.05)
        response = set_fruit(http, token)
        assert response.status_code == 401
        assert response.json() == {"error": "invalid token: token has expired"}


def test_a_key_file_may_hold_several_keys_during_a_rotation(db, empty_redis, tmp_path, key_file):
    old_key, new_key = load_private_key_file(key_file), generate_private_key()
    both = tmp_path / "rotation.pem.pub"
    both.write_bytes(public_key_pem(old_key.public_key()) + public_key_pem(new_key.public_key()))
    settings = service_settings(empty_redis.endpoint, public_key_file=both)
    with running_service(settings) as running, running.client() as http:
        assert set_fruit(http, sign_es512(claims_for(1, "a"), old_key)).status_code == 201
        assert set_fruit(http, sign_es512(claims_for(2, "b"), new_key)).status_code == 201
        assert set_fruit(http, sign_es512(claims_for(3, "c"), OTHER_KEY)).status_code == 401


# --- tokens from the real monolith ------------------------------------------------------


def monolith_token(settings, running_monolith, username="marian", *, is_super=True) -> str:
    add_user(settings, username, is_super=is_super)
    with running_monolith.client() as http:
        login = http.post("/login", data={"username": username, "password": "correct horse"})
        assert login.status_code == 302
        response = http.get("/token")
        assert response.status_code == 200
        return response.text


def test_a_token_from_the_monolith_is_accepted_with_the_key_file(
    settings, running_monolith, db, client
):
    token = monolith_token(settings, running_monolith)
    assert "kid" in jwt.get_unverified_header(token)
    response = set_fruit(client, token, "kiwi")
    assert response.status_code == 201
    user_id = response.json()["user_id"]
    assert decode_record(db.get(f"user:{user_id}")) == FruitRecord("marian", "kiwi")


def test_a_token_from_the_monolith_is_accepted_with_its_jwks_alone(
    settings, running_monolith, empty_redis, db
):
    token = monolith_token(settings, running_monolith)
    service_config = service_settings(
        empty_redis.endpoint, jwks_url=f"{running_monolith.url}/.well-known/jwks.json"
    )
    assert service_config.key_file() is None
    with running_service(service_config) as running, running.client() as http:
        assert set_fruit(http, token, "kiwi").status_code == 201
        assert set_fruit(http, forge({"alg": "none"}, claims_for()), "kiwi").status_code == 401
        assert 'fruits_service_jwks_fetches_total{outcome="ok"} 1.0' in http.get("/metrics").text


# --- JWKS: refetch for an unknown kid, at most once per cool-down ----------------------


@dataclass
class JwksServer:
    """A tiny JWKS endpoint that counts how often it is asked."""

    keys: list[ec.EllipticCurvePrivateKey]
    kids: list[str]
    requests: int = 0
    url: str = ""

    def document(self) -> dict:
        return {
            "keys": [
                {**public_jwk_members(key.public_key()), "kid": kid, "alg": "ES512", "use": "sig"}
                for key, kid in zip(self.keys, self.kids, strict=True)
            ]
        }

    def app(self) -> Starlette:
        async def jwks(request: Request) -> Response:
            self.requests += 1
            return JSONResponse(self.document())

        return Starlette(routes=[Route("/jwks.json", jwks)])


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer(keys=[generate_private_key()], kids=["first"])
    with serve_in_thread(server.app()) as url:
        server.url = f"{url}/jwks.json"
        yield server


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def random_kid_token(key, number: int) -> str:
    return sign_es512(claims_for(), key, kid=f"random-{number}")


def test_unknown_kids_refetch_the_jwks_at_most_once_per_cooldown(empty_redis, jwks_server):
    clock = FakeMonotonic()
    settings = service_settings(empty_redis.endpoint, jwks_url=jwks_server.url, jwks_cooldown_s=30)
    with running_service(settings, monotonic=clock) as running, running.client() as http:
        first_key = jwks_server.keys[0]
        assert set_fruit(http, sign_es512(claims_for(), first_key, kid="first")).status_code == 201
        assert jwks_server.requests == 1

        # A flood of made-up kids within the cool-down: refused, and the monolith is left alone.
        statuses = {set_fruit(http, random_kid_token(first_key, n)).status_code for n in range(25)}
        assert statuses == {401}
        assert jwks_server.requests == 1

        # The monolith rotates in a new key; after the cool-down one refetch finds it.
        new_key = generate_private_key()
        jwks_server.keys.append(new_key)
        jwks_server.kids.append("second")
        clock.now += 31
        assert set_fruit(http, sign_es512(claims_for(), new_key, kid="second")).status_code == 201
        assert jwks_server.requests == 2
        statuses = {set_fruit(http, random_kid_token(new_key, n)).status_code for n in range(25)}
        assert statuses == {401}
        assert jwks_server.requests == 2
        text = http.get("/metrics").text
        assert 'fruits_service_jwks_fetches_total{outcome="ok"} 2.0' in text
        assert 'fruits_service_token_rejections_total{kind="unknown_key"} 50.0' in text


def test_the_jwks_is_fetched_again_when_its_lifespan_ends(empty_redis, jwks_server):
    clock = FakeMonotonic()
    settings = service_settings(
        empty_redis.endpoint, jwks_url=jwks_server.url, jwks_max_age_s=300, token_cache_size=0
    )
    with running_service(settings, monotonic=clock) as running, running.client() as http:
        token = sign_es512(claims_for(), jwks_server.keys[0], kid="first")
        assert set_fruit(http, token).status_code == 201
        clock.now += 299
        assert set_fruit(http, token).status_code == 201
        assert jwks_server.requests == 1
        # The monolith withdraws the key; once the JWKS is stale it is read again.
        jwks_server.keys, jwks_server.kids = [generate_private_key()], ["other"]
        clock.now += 2
        assert set_fruit(http, token).status_code == 401
        assert jwks_server.requests == 2


def test_a_cached_token_needs_no_key_lookup(empty_redis, jwks_server):
    clock = FakeMonotonic()
    settings = service_settings(empty_redis.endpoint, jwks_url=jwks_server.url, jwks_max_age_s=300)
    with running_service(settings, monotonic=clock) as running, running.client() as http:
        token = sign_es512(claims_for(), jwks_server.keys[0], kid="first")
        assert set_fruit(http, token).status_code == 201
        clock.now += 400  # the JWKS is stale now, but this token was verified already
        assert set_fruit(http, token).status_code == 201
        assert jwks_server.requests == 1


def test_an_unreachable_jwks_is_401_not_500_and_is_not_hammered(empty_redis, key_file):
    settings = service_settings(
        empty_redis.endpoint, jwks_url="http://127.0.0.1:9/jwks.json", jwks_timeout_s=0.5
    )
    with running_service(settings) as running, running.client() as http:
        key = load_private_key_file(key_file)
        statuses = [
            set_fruit(http, sign_es512(claims_for(), key, kid="k")).status_code for _ in range(5)
        ]
        assert statuses == [401] * 5
        assert running.service.verifier.jwks_fetch_attempts == 1
        assert 'fruits_service_jwks_fetches_total{outcome="error"} 1.0' in http.get("/metrics").text


def test_jku_and_x5u_are_never_fetched(empty_redis, key_file, jwks_server):
    settings = service_settings(empty_redis.endpoint, public_key_file=public_key_path(key_file))
    with running_service(settings) as running, running.client() as http:
        evil_key = jwks_server.keys[0]
        for name in ("jku", "x5u"):
            token = jwt.encode(
                claims_for(),
                evil_key,
                algorithm="ES512",
                headers={"kid": "first", name: jwks_server.url},
            )
            assert set_fruit(http, token).status_code == 401
    assert jwks_server.requests == 0


def test_kid_is_never_used_as_a_url(empty_redis, key_file, jwks_server):
    settings = service_settings(empty_redis.endpoint, public_key_file=public_key_path(key_file))
    with running_service(settings) as running, running.client() as http:
        token = sign_es512(claims_for(), jwks_server.keys[0], kid=jwks_server.url)
        assert set_fruit(http, token).status_code == 401
    assert jwks_server.requests == 0
