"""Rotating the signing key while the monolith runs: old tokens keep working until retired."""

import shutil
import time

import httpx
import jwt
import pytest

from fruitsplit.web.monolith.app import create_app
from fruitsplit.wiring import build_monolith
from tests.support.accounts import add_user
from tests.support.fruits_service import running_service, service_settings
from tests.support.monolith import fast_hasher
from tests.support.processes import run_cli
from tests.support.servers import serve_in_thread

PASSWORD = "correct horse"


@pytest.fixture
def own_key(tmp_path, key_file):
    """A copy of the test key that this test may rotate."""
    folder = tmp_path / "keys"
    folder.mkdir()
    for name in ("server.pem", "server.pem.pub"):
        shutil.copy(key_file.with_name(name), folder / name)
    return folder / "server.pem"


def kids_published(url: str) -> list[str]:
    return [key["kid"] for key in httpx.get(f"{url}/.well-known/jwks.json").json()["keys"]]


def wait_for_kids(url: str, count: int) -> list[str]:
    deadline = time.monotonic() + 10
    while (kids := kids_published(url)) and len(kids) != count:
        assert time.monotonic() < deadline, f"JWKS still has {kids}"
        time.sleep(0.2)
    return kids


def put_fruit(service_url: str, token: str) -> int:
    return httpx.put(
        f"{service_url}/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token}
    ).status_code


def test_rotation_takes_effect_without_a_restart_and_retiring_ends_old_tokens(settings, own_key):
    settings = settings.model_copy(update={"private_key_file": own_key})
    add_user(settings, "anna", fruit="apple")
    monolith = build_monolith(settings, hasher=fast_hasher())
    with serve_in_thread(create_app(monolith)) as url, httpx.Client(base_url=url) as client:
        client.post("/login", data={"username": "anna", "password": PASSWORD})
        old_token = client.get("/token").text
        (old_kid,) = kids_published(url)

        rotated = run_cli("fruits", "keygen", "--rotate", "--out", str(own_key), env={})
        assert rotated.returncode == 0, rotated.stderr
        kids = wait_for_kids(url, 2)
        new_token = client.get("/token").text
        new_kid = jwt.get_unverified_header(new_token)["kid"]
        assert new_kid != old_kid
        assert kids == [new_kid, old_kid]

        jwks = service_settings(settings.redis_endpoint, jwks_url=f"{url}/.well-known/jwks.json")
        with running_service(jwks) as service:
            assert put_fruit(service.url, old_token) == 201
            assert put_fruit(service.url, new_token) == 201

        retired = run_cli("fruits", "keygen", "--retire", "--out", str(own_key), env={})
        assert retired.stdout.strip() == f"retired {old_kid}"
        assert wait_for_kids(url, 1) == [new_kid]
        with running_service(jwks) as service:
            assert put_fruit(service.url, old_token) == 401
            assert put_fruit(service.url, new_token) == 201


def test_a_service_reading_the_key_file_trusts_both_keys_during_a_rotation(settings, own_key):
    old_key_text = own_key.read_bytes()
    assert run_cli("fruits", "keygen", "--rotate", "--out", str(own_key), env={}).returncode == 0
    assert own_key.read_bytes() != old_key_text
    public = own_key.with_name("server.pem.pub").read_text()
    assert public.count("BEGIN PUBLIC KEY") == 2
    assert own_key.stat().st_mode & 0o777 == 0o600


def test_rotate_needs_an_existing_key(tmp_path):
    result = run_cli("fruits", "keygen", "--rotate", "--out", str(tmp_path / "none.pem"), env={})
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read private key")
