"""Both command lines as real processes: the original's flags and `fruits`."""

import os
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess

import httpx
import pytest

from fruitsplit.adapters.signing import load_private_key_file
from tests.support.processes import BIN, free_port, run_cli, wait_until_serving


@pytest.fixture
def env(tmp_path, key_file):
    return {"USE_DB_FILE": str(tmp_path / "monolith.db"), "PRIVATE_KEY_FILE": str(key_file)}


def users_in(env):
    with sqlite3.connect(env["USE_DB_FILE"]) as conn:
        rows = conn.execute("SELECT id, username, super FROM users ORDER BY id").fetchall()
    conn.close()
    return rows


def test_original_flags_create_and_promote_users(env):
    created = run_cli("monolith", "-create", "michael", "-password", "password123", env=env)
    assert created.returncode == 0, created.stderr
    assert run_cli("monolith", "-super", "1", env=env).returncode == 0
    assert users_in(env) == [(1, "michael", 1)]
    assert run_cli("monolith", "--unsuper=1", env=env).returncode == 0
    assert users_in(env) == [(1, "michael", 0)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-create", "anna", "-password", "short"), "at least 8 characters"),
        (("-create", "", "-password", "password123"), "username is required"),
        (("-create", "anna"), "-create needs -password"),
        (("-super", "42"), "no user with id 42"),
        (("-super", "one"), "invalid int value"),
        ((), "give exactly one of"),
    ],
)
def test_original_flags_report_bad_input_in_one_line(env, args, message):
    result = run_cli("monolith", *args, env=env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_taken_username_is_refused(env):
    assert (
        run_cli("fruits", "user", "create", "anna", "--password", "password123", env=env).returncode
        == 0
    )
    again = run_cli("fruits", "user", "create", "anna", "--password", "password456", env=env)
    assert again.returncode == 1
    assert again.stderr.strip() == "error: username 'anna' is taken"


def test_fruits_cli_creates_lists_and_promotes_users(env):
    made = run_cli(
        "fruits", "user", "create", "anna", "--super", "--password", "password123", env=env
    )
    assert made.stdout.strip() == "created user 1 anna (super)"
    run_cli("fruits", "user", "create", "bob", input_text="password123\npassword123\n", env=env)
    run_cli("fruits", "user", "unsuper", "1", env=env)
    assert run_cli("fruits", "user", "list", env=env).stdout.splitlines() == [
        "1\tanna\tnormal",
        "2\tbob\tnormal",
    ]


def test_keygen_writes_a_sec1_key_only_its_owner_can_read_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "server.pem"
    result = run_cli("fruits", "keygen", "--out", str(out), env={})
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("-----BEGIN EC PRIVATE KEY-----")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.with_name("server.pem.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    load_private_key_file(out)
    again = run_cli("fruits", "keygen", "--out", str(out), env={})
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_serve_refuses_a_missing_key_in_one_line(env, tmp_path):
    result = run_cli(
        "monolith", "-serve", env={**env, "PRIVATE_KEY_FILE": str(tmp_path / "none.pem")}
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read private key")
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_key_on_the_wrong_curve(env, tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("this test needs openssl: apt-get install openssl")
    p256 = tmp_path / "p256.pem"
    subprocess.run(
        [openssl, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(p256)],
        check=True,
    )
    result = run_cli("fruits", "serve", "monolith", env={**env, "PRIVATE_KEY_FILE": str(p256)})
    assert result.returncode == 1
    assert "P-521" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_refuses_a_bad_setting_in_one_line(env):
    result = run_cli("fruits", "serve", "monolith", env={**env, "TOKEN_LIFETIME": "soon"})
    assert result.returncode == 1
    assert result.stderr.startswith("error: invalid configuration: TOKEN_LIFETIME")
    assert "Traceback" not in result.stderr


def test_serve_answers_on_the_port_given_and_stops_cleanly_on_interrupt(env):
    port = free_port()
    run_cli("monolith", "-create", "anna", "-password", "password123", env=env)
    process = subprocess.Popen(
        [str(BIN / "monolith"), "-serve"],
        env={**os.environ, **env, "PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        with httpx.Client(base_url=url) as http:
            assert (
                http.post(
                    "/login", data={"username": "anna", "password": "password123"}
                ).status_code
                == 302
            )
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "Traceback" not in output


def test_two_worker_processes_share_sessions(env):
    port = free_port()
    run_cli("monolith", "-create", "anna", "-password", "password123", env=env)
    process = subprocess.Popen(
        [str(BIN / "fruits"), "serve", "monolith", "--workers", "2", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, process)
        with httpx.Client(base_url=url) as http:
            http.post("/login", data={"username": "anna", "password": "password123"})
            # Each request opens a new connection, so the two workers both answer some of them.
            cookie = {"session": http.cookies["session"]}
        statuses = {httpx.get(f"{url}/token", cookies=cookie).status_code for _ in range(20)}
        assert statuses == {200}
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert "Traceback" not in output


def test_demo_runs_the_whole_system_and_ctrl_c_stops_all_of_it(tmp_path):
    port, service_port = free_port(), free_port()
    command = ["demo", "--dir", str(tmp_path / "demo"), "--port", str(port)]
    process = subprocess.Popen(
        [str(BIN / "fruits"), *command, "--service-port", str(service_port)],
        env={**os.environ},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        page = httpx.get(url).text
        assert "marian: pineapple" in page
        assert '<span id="phase">dual-write</span>' in page
        listed = httpx.get(f"http://127.0.0.1:{service_port}/").json()
        assert {"username": "marian", "fruit": "pineapple"} in listed
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "log in as marian / fruits-demo" in output
    assert "Traceback" not in output
    redis_port = int(re.search(r"Redis: 127\.0\.0\.1:(\d+)", output).group(1))
    for stopped in (redis_port, service_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", stopped), timeout=1).close()
    # The demo keeps its data: Redis's append-only file holds the seeded records.
    assert list((tmp_path / "demo" / "redis").rglob("*.aof*"))
