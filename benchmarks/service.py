"""Throughput and p99 latency of the fruits service under wrk, beside the Go original's figures.

    python benchmarks/service.py [--runs 5] [--duration 10] [--workers 2]

Starts a private redis-server (no AOF, as a cache-sized benchmark Redis), loads
1,000 and then 10,000 users through the monolith's versioned dual write (so
every record has its version key beside it, as in production), starts
`fruits-service` as a subprocess with its production middleware (request
metrics, CORS, uvicorn's access log written to a file in the temporary
directory) and drives it with `wrk -t2 -c32` for each scenario, `--runs`
times after a warm-up. Prints the median requests/s and p99 of the runs, with
their range, beside the figures the issue gives for the Go original.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.adapters.signing import (
    TokenSigner,
    generate_private_key,
    public_key_pem,
)
from fruitsplit.cli.children import ChildFailed, stop_child, wait_until_healthy
from fruitsplit.core.claims import build_claims
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.users import User

WRK_THREADS = 2
WRK_CONNECTIONS = 32
WARM_UP_S = 2
LOAD_BATCH_SIZE = 1000
TOKEN_USERS = 100
# The figures for the original Go service, requests per second.
GO_ORIGINAL = {
    "GET /fruit/{id}": 6150.0,
    "GET / (1,000 users)": 60.0,
    "GET / (10,000 users)": 4.3,
    "PUT /fruit": 430.0,
}

RANDOM_ID_LUA = """
local users = 1
init = function(args)
  users = tonumber(args[1])
  math.randomseed(os.time() * 1000 + math.floor(os.clock() * 1000000))
end
request = function()
  return wrk.format("GET", "/fruit/" .. math.random(0, users - 1))
end
"""

PUT_LUA = """
local tokens = {%s}
local fruits = {"apple", "banana", "orange", "pear"}
local counter = 0
request = function()
  counter = counter + 1
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Auth-Token"] = tokens[(counter %% #tokens) + 1],
  }
  return wrk.format("PUT", "/fruit", headers, "fruit=" .. fruits[(counter %% #fruits) + 1])
end
"""


@dataclass
class WrkResult:
    requests_per_s: float
    p99_ms: float
    errors: int


@dataclass
class Scenario:
    name: str
    path: str
    script: Path | None = None
    script_args: tuple[str, ...] = ()
    go_name: str | None = None


def find_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("installing wrk with apt-get", file=sys.stderr)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("error: this benchmark needs wrk: sudo apt-get install wrk")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_wrk(wrk: str, url: str, scenario: Scenario, duration_s: int) -> WrkResult:
    command = [
        wrk,
        f"-t{WRK_THREADS}",
        f"-c{WRK_CONNECTIONS}",
        f"-d{duration_s}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    if scenario.script is not None:
        command += ["-s", str(scenario.script)]
    command.append(url + scenario.path)
    if scenario.script_args:
        command += ["--", *scenario.script_args]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk's output:\n{output}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(count) for count in socket_errors.groups())
    return WrkResult(float(rate.group(1)), float(p99.group(1)) * scale, errors)


async def load_users(endpoint: str, count: int) -> None:
    """FLUSHALL, then `count` users through the monolith's versioned dual write."""
    client = redis_client_from_endpoint(endpoint, None)
    try:
        await client.flushall()
        store = RedisFruitStore(client)
        for start in range(0, count, LOAD_BATCH_SIZE):
            await store.put_versioned(
                [
                    VersionedFruit(user_id, f"user number {user_id}", "banana", 1)
                    for user_id in range(start, min(count, start + LOAD_BATCH_SIZE))
                ]
            )
    finally:
        await client.aclose()


@contextmanager
def service_process(env: dict[str, str], log_path: Path) -> Iterator[str]:
    binary = Path(sys.executable).parent / "fruits-service"
    if not binary.exists():
        sys.exit(f"error: {binary} is missing: pip install -e . in this virtualenv")
    port = free_port()
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary)],
            env={**os.environ, **env, "PORT": str(port)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_healthy(url, process)
        except ChildFailed as error:
            sys.exit(f"error: fruits-service {error}")
        yield url
    finally:
        stop_child(process)


def check_scenarios(url: str, token: str) -> None:
    """One request of each kind, so a broken setup fails loudly instead of timing errors."""
    with httpx.Client(base_url=url, timeout=30.0) as http:
        assert http.get("/fruit/1").status_code == 200
        assert http.get("/").status_code == 200
        response = http.put("/fruit", data={"fruit": "pear"}, headers={"X-Auth-Token": token})
        assert response.status_code == 201, response.text


def wait_until_idle(url: str, *, timeout_s: float = 120.0) -> None:
    """Return once requests wrk left in flight are answered: /healthz is quick three times."""
    deadline = time.monotonic() + timeout_s
    quick = 0
    with httpx.Client(base_url=url, timeout=timeout_s) as http:
        while quick < 3 and time.monotonic() < deadline:
            started = time.perf_counter()
            http.get("/healthz")
            quick = quick + 1 if time.perf_counter() - started < 0.05 else 0


def measure(wrk: str, url: str, scenario: Scenario, runs: int, duration_s: int) -> list[WrkResult]:
    run_wrk(wrk, url, scenario, WARM_UP_S)
    results = []
    for number in range(1, runs + 1):
        # A list request abandoned by the last run must not be timed in this one.
        wait_until_idle(url)
        result = run_wrk(wrk, url, scenario, duration_s)
        print(
            f"  {scenario.name:<44} run {number}: {result.requests_per_s:9,.1f} req/s"
            f"  p99 {result.p99_ms:8.2f} ms  errors {result.errors}",
            file=sys.stderr,
            flush=True,
        )
        results.append(result)
    return results


def summarize(name: str, results: list[WrkResult], go_name: str | None) -> str:
    rates = [r.requests_per_s for r in results]
    p99s = [r.p99_ms for r in results]
    errors = sum(r.errors for r in results)
    rate = statistics.median(rates)
    line = (
        f"{name:<44} {rate:9,.1f} ({min(rates):,.1f}-{max(rates):,.1f})"
        f"  {statistics.median(p99s):8.2f} ({min(p99s):.2f}-{max(p99s):.2f})"
    )
    if go_name is not None:
        go = GO_ORIGINAL[go_name]
        line += f"  {go:9,.1f}  {rate / go:6.1f}x"
    else:
        line += f"  {'-':>9}  {'-':>7}"
    if errors:
        line += f"  ({errors} errors)"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per scenario")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2, help="WEB_CONCURRENCY of the service")
    args = parser.parse_args()
    wrk = find_wrk()

    with tempfile.TemporaryDirectory(prefix="fruits-bench-") as folder:
        work = Path(folder)
        key = generate_private_key()
        (work / "server.pem.pub").write_bytes(public_key_pem(key.public_key()))
        signer = TokenSigner(key)
        now = time.time()
        tokens = [
            signer.sign(
                build_claims(
                    User(user_id, f"user number {user_id}", False),
                    now=datetime.fromtimestamp(now, tz=UTC),
                    lifetime=timedelta(hours=2),
                )
            )
            for user_id in range(TOKEN_USERS)
        ]
        (work / "put.lua").write_text(PUT_LUA % ", ".join(f'"{t}"' for t in tokens))
        (work / "random_id.lua").write_text(RANDOM_ID_LUA)
        access_log = work / "access.log"

        with RedisServerProcess(work / "redis", appendonly=False) as redis_server:
            env = {
                "REDIS_ENDPOINT": redis_server.endpoint,
                "PUBLIC_KEY_FILE": str(work / "server.pem.pub"),
                "WEB_CONCURRENCY": str(args.workers),
                "LOG_LEVEL": "info",
                "ACCESS_LOG": "true",
            }
            summary: list[str] = []
            print(
                f"load average {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs;"
                f" {args.workers} workers; wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS}"
                f" -d{args.duration}s x {args.runs} runs",
                file=sys.stderr,
            )
            put = work / "put.lua"
            scenarios = [
                (1000, Scenario("GET / (1,000 users)", "/", go_name="GET / (1,000 users)"), {}),
                (10_000, Scenario("GET / (10,000 users)", "/", go_name="GET / (10,000 users)"), {}),
                (
                    10_000,
                    Scenario(
                        "GET /fruit/{id} (random of 10,000)",
                        "/",
                        script=work / "random_id.lua",
                        script_args=("10000",),
                        go_name="GET /fruit/{id}",
                    ),
                    {},
                ),
                (
                    10_000,
                    Scenario("PUT /fruit (token cache on)", "/fruit", put, (), "PUT /fruit"),
                    {},
                ),
                # Every request pays for a P-521 verification: the cost the cache saves.
                (
                    10_000,
                    Scenario("PUT /fruit (token cache off)", "/fruit", put, (), "PUT /fruit"),
                    {"TOKEN_CACHE_SIZE": "0"},
                ),
            ]
            loaded = 0
            for users, scenario, extra_env in scenarios:
                if users != loaded:
                    asyncio.run(load_users(redis_server.endpoint, users))
                    loaded = users
                # A fresh service per scenario: nothing left over from the one before.
                with service_process({**env, **extra_env}, access_log) as url:
                    check_scenarios(url, tokens[1])
                    results = measure(wrk, url, scenario, args.runs, args.duration)
                summary.append(summarize(scenario.name, results, scenario.go_name))

            log_lines = sum(1 for _ in access_log.open("rb"))

    print()
    print(
        f"{'scenario':<44} {'req/s median (range)':>26}  {'p99 ms median (range)':>21}"
        f"  {'Go req/s':>9}  {'ratio':>7}"
    )
    for line in summary:
        print(line)
    print(
        f"\n{args.workers} worker(s), uvloop + httptools, orjson; access log: a file"
        f" ({log_lines:,} lines written); metrics and CORS middleware on."
    )


if __name__ == "__main__":
    main()
