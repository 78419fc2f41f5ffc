"""Benchmark the copy to Redis and the verifier at scale, beside Redis's own ceiling.

    python benchmarks/migration.py [--users 1000000] [--runs 3] [--no-appendonly]

Builds a SQLite database with N users and their fruits as the original writes
them (one sqlite3 transaction, before any timing), starts a private
redis-server (append-only file on, as the app runs it), and in each run
measures the ceiling with `redis-benchmark -P 64 -t set,get -n 1000000 -q`,
then times, as separate processes like an operator runs them:

- `fruits migrate --restart` into an empty Redis (the first copy),
- `fruits migrate --restart` again (nothing to write: the idempotent re-run),
- `fruits verify --json` (both ways).

Each figure is the median of the runs: records per second end to end (process
start to exit, interpreter start-up included), the rate the copy itself reports,
and the peak RSS of the process (from wait4). The aims: the first copy at 30% of
the SET ceiling or more in under 150 MB, the verifier at 20% of the GET ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import redis

from fruitsplit.adapters.redis_server import RedisServerProcess
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.core.fruits import FRUITS
from fruitsplit.core.passwords import legacy_password_hash

AIMS: dict[str, tuple[str, float | None]] = {
    "migrate": ("SET", 0.30),
    "migrate again": ("SET", None),
    "verify": ("GET", 0.20),
}
MAX_MIGRATE_RSS_MB = 150
# The Go original on the brief's machine, for scale.
ORIGINAL = "the Go original: about 10,000 records/s at 33 MB"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Measure:
    seconds: float
    peak_rss_mb: float
    own_rate: float | None  # records/s the command reports itself, if it does


def build_database(path: Path, users: int) -> None:
    started = time.monotonic()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT,"
            " password TEXT, super INTEGER DEFAULT 0)"
        )
        conn.execute("CREATE TABLE fruits (id INTEGER PRIMARY KEY, user INTEGER, fruit TEXT)")
        password = legacy_password_hash("benchmark-password")
        conn.executemany(
            "INSERT INTO users (id, username, password) VALUES (?, ?, ?)",
            ((i, f"user{i}", password) for i in range(1, users + 1)),
        )
        conn.executemany(
            "INSERT INTO fruits (user, fruit) VALUES (?, ?)",
            ((i, FRUITS[i % 4]) for i in range(1, users + 1)),
        )
    conn.close()

    async def upgrade_schema() -> None:
        # The app's schema migrations (indexes on a million rows) before any timing.
        db = SqliteDatabase(path)
        await db.open()
        await db.close()

    asyncio.run(upgrade_schema())
    print(f"built {users:,} users with fruits in {time.monotonic() - started:.1f} s")


def redis_ceiling(port: int) -> dict[str, float]:
    benchmark = shutil.which("redis-benchmark")
    if benchmark is None:
        sys.exit("error: this benchmark needs redis-benchmark: apt-get install redis-tools")
    output = subprocess.run(
        [benchmark, "-p", str(port), "-P", "64", "-t", "set,get", "-n", "1000000", "-q"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # -q still draws progress with carriage returns; the totals end each command's line.
    found = dict(re.findall(r"(SET|GET): ([0-9.]+) requests per second", output))
    return {command: float(rate) for command, rate in found.items()}


def timed(command: list[str], env: dict[str, str], scratch: Path) -> Measure:
    out, err = scratch / "stdout", scratch / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        started = time.monotonic()
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=stdout, stderr=stderr)
        # wait4 gives this child's own peak RSS (RUSAGE_CHILDREN would mix in redis-benchmark).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    if code not in (0, 1):
        sys.exit(f"error: {' '.join(command)} exited with {code}:\n{err.read_text()}")
    # The copy reports its own rate on stderr; the verifier its time in its JSON.
    rate = re.search(r"([0-9,]+) records/s", err.read_text())
    own = float(rate.group(1).replace(",", "")) if rate else None
    if own is None and command[-1] == "--json":
        report = json.loads(out.read_text())
        own = report["sqlite_rows"] / max(report["elapsed_s"], 1e-9)
    return Measure(seconds, usage.ru_maxrss / 1024, own)


def flushall(port: int) -> None:
    with redis.Redis(port=port) as client:
        client.flushall()


def median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--no-appendonly",
        dest="appendonly",
        action="store_false",
        help="run Redis without its append-only file (the app runs it with one)",
    )
    args = parser.parse_args()
    users: int = args.users

    with tempfile.TemporaryDirectory(prefix="fruits-bench-") as folder:
        root = Path(folder)
        db_file = root / "monolith.db"
        build_database(db_file, users)
        with RedisServerProcess(root / "redis", appendonly=args.appendonly) as server:
            ceilings: dict[str, list[float]] = {"SET": [], "GET": []}
            env = {"USE_DB_FILE": str(db_file), "USE_REDIS_ENDPOINT": server.endpoint}
            fruits = str(BIN / "fruits")
            results: dict[str, list[Measure]] = {"migrate": [], "migrate again": [], "verify": []}
            for run in range(1, args.runs + 1):
                # The ceiling is measured beside each run: on a shared machine it moves too.
                flushall(server.port)
                for command, rate in redis_ceiling(server.port).items():
                    ceilings[command].append(rate)
                flushall(server.port)
                first = timed([fruits, "migrate", "--restart"], env, root)
                again = timed([fruits, "migrate", "--restart"], env, root)
                verified = timed([fruits, "verify", "--json"], env, root)
                results["migrate"].append(first)
                results["migrate again"].append(again)
                results["verify"].append(verified)
                print(
                    f"run {run}: SET {ceilings['SET'][-1]:,.0f}/s,"
                    f" GET {ceilings['GET'][-1]:,.0f}/s; migrate {first.seconds:.2f} s,"
                    f" again {again.seconds:.2f} s,"
                    f" verify {verified.seconds:.2f} s"
                )

    ceiling = {command: median(rates) for command, rates in ceilings.items()}
    print()
    print(
        f"{users:,} users; redis-benchmark -P 64: SET {ceiling['SET']:,.0f}/s,"
        f" GET {ceiling['GET']:,.0f}/s (append-only file {'on' if args.appendonly else 'off'})"
    )
    print(
        f"{'':<14}{'end to end':>22}{'in process':>22}{'peak RSS':>10}{'aim':>14}"
        f"\n{'':<14}{'records/s':>12}{'ratio':>10}{'records/s':>12}{'ratio':>10}"
    )
    for name, measures in results.items():
        command, aim = AIMS[name]
        rate = users / median([m.seconds for m in measures])
        own = median([m.own_rate for m in measures if m.own_rate is not None])
        rss = median([m.peak_rss_mb for m in measures])
        aim_text = f"{aim:.0%} of {command}" if aim is not None else ""
        print(
            f"{name:<14}{rate:>12,.0f}{rate / ceiling[command]:>10.1%}"
            f"{own:>12,.0f}{own / ceiling[command]:>10.1%}{rss:>8.0f}MB{aim_text:>14}"
        )
    print(
        f"(median of {args.runs} runs; {ORIGINAL}; RSS aim for migrate: <{MAX_MIGRATE_RSS_MB} MB)"
    )


if __name__ == "__main__":
    main()
