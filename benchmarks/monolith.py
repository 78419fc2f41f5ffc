"""Benchmark the monolith: tokens per second, and the page with its shadow reads on.

    python benchmarks/monolith.py [--users 1000] [--runs 5] [--duration 10]

Starts a private redis-server and `fruits serve monolith` (production middleware:
metrics, security headers, access log to /dev/null) in dual-write with every fruit
copied to Redis, then drives `GET /token` and `GET /` with `wrk -t2 -c32` and prints
requests/s and p99 latency, the median of the runs with their range, beside the Go
original's figures on the same kind of machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from fruitsplit.adapters.redis_fruits import RedisFruitStore, redis_client_from_endpoint
from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.adapters.signing import generate_private_key, private_key_pem
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.cli.children import ChildFailed, stop_child, wait_until_healthy
from fruitsplit.core.fruits import FRUITS
from fruitsplit.core.passwords import legacy_password_hash

# The Go original on this kind of machine, median of 5 runs (from the project's brief).
ORIGINAL = {"GET /token": 2100.0, "GET / (page)": 57.0}
PASSWORD = "benchmark-password"


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk:
        return wrk
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit("error: this benchmark needs wrk: apt-get install wrk")


def build_database(path: Path, users: int) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT,"
            " password TEXT, super INTEGER DEFAULT 0)"
        )
        conn.execute("CREATE TABLE fruits (id INTEGER PRIMARY KEY, user INTEGER, fruit TEXT)")
        password = legacy_password_hash(PASSWORD)
        conn.executemany(
            "INSERT INTO users (id, username, password) VALUES (?, ?, ?)",
            ((i, f"user{i}", password) for i in range(1, users + 1)),
        )
        conn.executemany(
            "INSERT INTO fruits (user, fruit) VALUES (?, ?)",
            ((i, FRUITS[i % 4]) for i in range(1, users + 1)),
        )
    conn.close()


async def copy_to_redis_and_dual_write(db_path: Path, endpoint: str) -> None:
    db = SqliteDatabase(db_path)
    await db.open()
    client = redis_client_from_endpoint(endpoint, None)
    try:
        fruits = SqliteFruits(db)
        after = 0
        while page := await fruits.fetch_page(after_user_id=after, limit=5000):
            await RedisFruitStore(client).put_versioned(page)
            after = page[-1].user_id
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO settings (key, value, updated_at) VALUES ('phase', 'dual-write', ?)",
                (time.time(),),
            )
    finally:
        await client.aclose()
        await db.close()


def run_wrk(wrk: str, url: str, cookie: str, duration_s: int) -> tuple[float, float]:
    """Requests/s and p99 latency in ms of one wrk run."""
    out = subprocess.run(
        [
            wrk,
            "-t2",
            "-c32",
            f"-d{duration_s}s",
            "--latency",
            "-H",
            f"Cookie: session={cookie}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    if "Non-2xx" in out:
        sys.exit(f"error: wrk saw failed requests:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99_value, p99_unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99_ms = float(p99_value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99_unit]
    return rate, p99_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    wrk = find_wrk()
    fruits_cli = Path(sys.executable).parent / "fruits"

    with tempfile.TemporaryDirectory(prefix="fruits-bench-") as folder:
        tmp = Path(folder)
        build_database(tmp / "monolith.db", args.users)
        (tmp / "server.pem").write_bytes(private_key_pem(generate_private_key()))
        with RedisServerProcess(tmp / "redis") as redis_server:
            asyncio.run(copy_to_redis_and_dual_write(tmp / "monolith.db", redis_server.endpoint))
            port = 18000 + os.getpid() % 1000
            env = {
                **os.environ,
                "USE_DB_FILE": str(tmp / "monolith.db"),
                "PRIVATE_KEY_FILE": str(tmp / "server.pem"),
                "USE_REDIS_ENDPOINT": redis_server.endpoint,
                "PORT": str(port),
                "WEB_CONCURRENCY": str(args.workers),
            }
            with open(os.devnull, "wb") as devnull:
                server = subprocess.Popen(
                    [str(fruits_cli), "serve", "monolith"], env=env, stdout=devnull, stderr=devnull
                )
            url = f"http://127.0.0.1:{port}"
            try:
                try:
                    wait_until_healthy(url, server)
                except ChildFailed as error:
                    sys.exit(f"error: the monolith {error}")
                login = httpx.post(f"{url}/login", data={"username": "user1", "password": PASSWORD})
                cookie = login.cookies["session"]
                page = httpx.get(url, cookies={"session": cookie}).text
                assert page.count("<li>") == args.users, "the page lists every user"
                print(
                    f"monolith, {args.users} users, dual-write with shadow reads, "
                    f"{args.workers} worker(s), wrk -t2 -c32 -d{args.duration}s, "
                    f"{args.runs} runs"
                )
                for name, path in (("GET /token", "/token"), ("GET / (page)", "/")):
                    runs = [
                        run_wrk(wrk, url + path, cookie, args.duration) for _ in range(args.runs)
                    ]
                    rates = [rate for rate, _ in runs]
                    p99s = [p99 for _, p99 in runs]
                    median = statistics.median(rates)
                    print(
                        f"  {name:14} {median:9.1f} req/s ({min(rates):.1f}-{max(rates):.1f})"
                        f"  p99 {statistics.median(p99s):7.1f} ms"
                        f"  original {ORIGINAL[name]:g} req/s  ratio {median / ORIGINAL[name]:.1f}x"
                    )
            finally:
                stop_child(server)


if __name__ == "__main__":
    main()
