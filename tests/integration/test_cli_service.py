"""`fruits-service` and `fruits serve service` as real processes."""

import os
import signal
import subprocess

import httpx
import pytest

from fruitsplit.adapters.signing import load_private_key_file
from tests.support.fruits_service import claims_for, public_key_path, sign_es512
from tests.support.processes import BIN, free_port, run_cli, wait_until_serving


@pytest.fixture
def env(tmp_path, redis_server):
    # A directory without server.pem.pub: the default key file is missing here.
    return {"REDIS_ENDPOINT": redis_server.endpoint, "HOME": str(tmp_path)}


@pytest.mark.parametrize("command", [("fruits-service",), ("fruits", "serve", "service")])
def test_start_up_without_a_key_or_jwks_fails_in_one_line(env, tmp_path, command):
    result = run_cli(*command, env={**env, "PUBLIC_KEY_FILE": str(tmp_path / "none.pub")})
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read public key file")
    assert len(result.stderr.strip().splitlines()) == 1


def test_start_up_refuses_a_private_key_in_place_of_the_public_one(env, key_file):
    result = run_cli("fruits-service", env={**env, "PUBLIC_KEY_FILE": str(key_file)})
    assert result.returncode == 1
    assert "not a PUBLIC KEY" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [("HTTP_ORIGIN", "localhost"), ("TOKEN_LEEWAY", "soon"), ("JWKS_URL", "file:///etc/passwd")],
)
def test_start_up_refuses_a_bad_setting_in_one_line(env, key_file, name, value):
    result = run_cli(
        "fruits-service",
        env={**env, "PUBLIC_KEY_FILE": str(public_key_path(key_file)), name: value},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: invalid configuration: {name}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_service_serves_on_the_port_given_and_stops_cleanly_on_interrupt(env, key_file):
    port = free_port()
    process = subprocess.Popen(
        [str(BIN / "fruits"), "serve", "service", "--port", str(port)],
        env={**os.environ, **env, "PUBLIC_KEY_FILE": str(public_key_path(key_file))},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        token = sign_es512(claims_for(40, "cli"), load_private_key_file(key_file))
        with httpx.Client(base_url=url) as http:
            response = http.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token})
            assert response.status_code == 201
            assert http.get("/fruit/40").json() == {"username": "cli", "fruit": "pear"}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output
