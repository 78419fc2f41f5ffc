"""The copy to Redis and the verifier from the command line: progress, reports, exit status.

Shared by `fruits migrate`, `fruits verify` and the original's `monolith -migrate`.
Exit status: 0 done (verify: consistent), 1 differences remain (verify), 2 an
operator error (bad setting, unreachable Redis, wrong phase), said in one line
on stderr without a traceback.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import NoReturn, TypeVar
from urllib.parse import urlsplit

import redis.exceptions
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from fruitsplit.adapters.redis_fruits import RedisFruitStore
from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.checkpoints import SqliteCheckpoints
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.settings import SqliteSettings
from fruitsplit.cli.actions import OPERATOR_ERRORS
from fruitsplit.config import MonolithSettings, load_monolith_settings
from fruitsplit.core.diff import MISMATCH_KINDS
from fruitsplit.core.phases import Phase
from fruitsplit.metrics import Metrics
from fruitsplit.migration.copy import DEFAULT_BATCH_SIZE, FruitCopy, check_copy_allowed
from fruitsplit.migration.verify import DEFAULT_EXAMPLES, Verifier, VerifyReport
from fruitsplit.services.phase import PhaseControl
from fruitsplit.wiring import build_redis_client

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_EXAMPLES",
    "describe",
    "load_settings",
    "migrate",
    "open_stores",
    "redis_address",
    "verify",
]

T = TypeVar("T")

EXIT_CONSISTENT = 0
EXIT_DIFFERENCES = 1
EXIT_OPERATOR_ERROR = 2


@dataclass(frozen=True, slots=True)
class Stores:
    fruits: SqliteFruits
    records: RedisFruitStore
    checkpoints: SqliteCheckpoints
    phase: Phase


def load_settings() -> MonolithSettings:
    return _or_exit(load_monolith_settings)


def migrate(
    settings: MonolithSettings,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_rate: float | None = None,
    dry_run: bool = False,
    restart: bool = False,
) -> None:
    """Copy every fruit to Redis, ending with the original's line `migrated N records to redis`."""
    console = Console(stderr=True)

    async def use(stores: Stores) -> None:
        check_copy_allowed(stores.phase)
        copy = FruitCopy(stores.fruits, stores.records, stores.checkpoints)
        resume = None if restart or dry_run else await copy.resume_point()
        if resume is not None:
            _note(
                f"resuming after user {resume.after_user_id}:"
                f" {resume.copied} records were copied before"
            )
        with _progress_bar(console, "copying to Redis") as advance:
            report = await copy.run(
                batch_size=batch_size,
                max_rate=max_rate,
                dry_run=dry_run,
                restart=restart,
                progress=advance,
            )
        tally = report.tally
        this_run = report.copied - (resume.copied if resume is not None else 0)
        rate = this_run / report.elapsed_s if report.elapsed_s > 0 else 0.0
        if report.skipped:
            _note(f"{report.skipped} rows not copied: no record can hold them (see the log)")
        if dry_run:
            print(  # noqa: T201
                f"dry run: {report.copied} records checked, {tally.written} would be written,"
                f" {tally.unchanged} unchanged; nothing was written"
            )
            return
        _note(
            f"{tally.written} written, {tally.unchanged} unchanged, {tally.refused} newer in"
            f" Redis; {report.elapsed_s:.1f} s, {rate:,.0f} records/s"
        )
        print(f"migrated {report.copied - report.skipped} records to redis")  # noqa: T201

    _run(settings, use, on_redis_lost="run it again to resume where it stopped")


def verify(
    settings: MonolithSettings,
    *,
    as_json: bool = False,
    repair: bool = False,
    examples: int = DEFAULT_EXAMPLES,
) -> NoReturn:
    """Verify both stores both ways (and repair); exit 0 consistent, 1 differences, 2 error."""
    console = Console(stderr=True)

    async def use(stores: Stores) -> VerifyReport:
        verifier = Verifier(stores.fruits, stores.records, examples=examples)
        with _progress_bar(console, "SQLite -> Redis", "Redis -> SQLite") as advance:
            return await verifier.run(
                repair=repair,
                phase=stores.phase,
                progress=None
                if advance is None
                else lambda stage, done, total: advance(done, total, stage=stage),
            )

    report = _run(settings, use, on_redis_lost="nothing was left half done; run it again")
    if as_json:
        print(json.dumps(report.as_dict(), indent=2))  # noqa: T201
    else:
        print(describe(report))  # noqa: T201
    raise SystemExit(EXIT_CONSISTENT if report.is_consistent else EXIT_DIFFERENCES)


def check_agreement(settings: MonolithSettings) -> VerifyReport:
    """Verify both ways without repairing or drawing anything (for a phase switch)."""

    async def use(stores: Stores) -> VerifyReport:
        return await Verifier(stores.fruits, stores.records).run()

    return _run(settings, use, on_redis_lost="nothing was changed; run it again")


def describe(report: VerifyReport) -> str:
    """The report as a table a person reads, ending with the verdict."""
    lines = [f"{'kind':<10} {'found':>9} {'repaired':>9} {'remaining':>10}"]
    for kind in MISMATCH_KINDS:
        tally = report.kinds[kind]
        lines.append(f"{kind:<10} {tally.found:>9} {tally.repaired:>9} {tally.remaining:>10}")
    examples = [example for tally in report.kinds.values() for example in tally.examples]
    if examples:
        lines.append("")
        lines.append("examples:")
        lines += [f"  {example.kind:<10} {example.message}" for example in examples]
    lines.append("")
    lines.append(
        f"checked {report.sqlite_rows} fruits in SQLite and {report.redis_keys} keys in Redis"
        f" in {report.elapsed_s:.1f} s"
    )
    remaining = sum(tally.remaining for tally in report.kinds.values())
    lines.append("consistent" if remaining == 0 else f"not consistent: {remaining} differences")
    return "\n".join(lines)


def redis_address(settings: MonolithSettings) -> str:
    """HOST:PORT of the Redis in use, never a URL's password."""
    if settings.redis_url is None:
        return settings.redis_endpoint
    parts = urlsplit(settings.redis_url)
    return f"{parts.hostname}:{parts.port or 6379}"


@asynccontextmanager
async def open_stores(settings: MonolithSettings) -> AsyncIterator[Stores]:
    """SQLite and Redis for a command, closed on exit; Redis is pinged before anything else."""
    client = build_redis_client(settings)
    try:
        try:
            await client.ping()
        except redis.exceptions.RedisError as error:
            _exit(f"cannot reach Redis at {redis_address(settings)}: {error}")
        db = SqliteDatabase(settings.db_file)
        await db.open()
        try:
            phase = await PhaseControl(SqliteSettings(db), time.time, Metrics()).current()
            yield Stores(SqliteFruits(db), RedisFruitStore(client), SqliteCheckpoints(db), phase)
        finally:
            await db.close()
    finally:
        await client.aclose()


def _run(
    settings: MonolithSettings,
    use: Callable[[Stores], Awaitable[T]],
    *,
    on_redis_lost: str,
) -> T:
    async def run() -> T:
        async with open_stores(settings) as stores:
            return await use(stores)

    try:
        return asyncio.run(run())
    except redis.exceptions.RedisError as error:
        _exit(f"lost Redis at {redis_address(settings)}: {error}; {on_redis_lost}")
    except OPERATOR_ERRORS as error:
        _exit(str(error))


def _or_exit(action: Callable[[], T]) -> T:
    try:
        return action()
    except OPERATOR_ERRORS as error:
        _exit(str(error))


def _exit(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)  # noqa: T201
    raise SystemExit(EXIT_OPERATOR_ERROR)


def _note(message: str) -> None:
    print(message, file=sys.stderr)  # noqa: T201


Advance = Callable[..., None]


@contextmanager
def _progress_bar(console: Console, *stages: str) -> Iterator[Advance | None]:
    """A bar per stage, with rate and ETA, on a terminal; elsewhere nothing at all (None)."""
    if not console.is_terminal:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        _RateColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        tasks = {stage: progress.add_task(stage, total=None) for stage in stages}

        def advance(done: int, total: int | None, stage: str | None = None) -> None:
            task = tasks[stages[0]] if stage is None else tasks[_STAGES.get(stage, stage)]
            progress.update(task, completed=done, total=total)

        yield advance


# The verifier's stage names, as the bars show them.
_STAGES = {"sqlite": "SQLite -> Redis", "redis": "Redis -> SQLite"}


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} records/s")
