"""The SQLite adapter against real files: the original's layout, upgrades, several writers."""

import asyncio
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from fruitsplit.adapters.sqlite import SchemaError, SqliteDatabase
from fruitsplit.adapters.sqlite.fruits import SqliteFruits
from fruitsplit.adapters.sqlite.schema import LATEST_VERSION
from fruitsplit.core.fruits import FruitRow
from fruitsplit.core.passwords import legacy_password_hash
from fruitsplit.wiring import build_account_service
from tests.support.monolith import fast_hasher


def make_original_database(path: Path) -> None:
    """A file laid out exactly as the original monolith creates and fills it."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " username TEXT, password TEXT, super INTEGER DEFAULT 0)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fruits (id INTEGER PRIMARY KEY, user INTEGER, fruit TEXT)"
        )
        conn.execute(
            "INSERT INTO users (username, password) VALUES (?, ?)",
            ("michael", legacy_password_hash("password123")),
        )
        conn.execute(
            "INSERT INTO users (username, password, super) VALUES (?, ?, 1)",
            ("marian", legacy_password_hash("pineapples!")),
        )
        conn.execute("INSERT INTO fruits (user, fruit) VALUES (1, 'orange')")
        conn.execute("INSERT INTO fruits (user, fruit) VALUES (2, 'pineapple')")
    conn.close()


async def test_a_database_made_by_the_original_opens_and_keeps_its_rows(tmp_path):
    path = tmp_path / "monolith.db"
    make_original_database(path)
    db = SqliteDatabase(path)
    await db.open()
    try:
        assert await SqliteFruits(db).fetch_all() == [
            FruitRow(1, "michael", "orange"),
            FruitRow(2, "marian", "pineapple"),
        ]
    finally:
        await db.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


async def test_an_original_user_logs_in_and_the_hash_is_upgraded_to_argon2id(tmp_path):
    path = tmp_path / "monolith.db"
    make_original_database(path)
    db = SqliteDatabase(path)
    await db.open()
    try:
        accounts = build_account_service(db, hasher=fast_hasher())
        user = await accounts.log_in("michael", "password123", address="127.0.0.1")
        assert (user.id, user.username, user.is_super) == (1, "michael", False)
        async with (
            db.read() as conn,
            conn.execute("SELECT password FROM users WHERE id = 1") as cur,
        ):
            (stored,) = await cur.fetchone()
        assert stored.startswith("$argon2id$")
        # The upgraded hash still proves the same password.
        assert (await accounts.log_in("michael", "password123", address="127.0.0.1")).id == 1
    finally:
        await db.close()


async def test_a_database_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "monolith.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this program"):
        await SqliteDatabase(path).open()


async def test_a_file_that_is_not_sqlite_is_refused_with_its_name(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a database, just some words that are long enough" * 20)
    with pytest.raises(SchemaError, match=r"notes\.txt"):
        await SqliteDatabase(path).open()


async def test_a_missing_folder_is_refused_with_its_name(tmp_path):
    with pytest.raises(SchemaError, match="folder does not exist"):
        await SqliteDatabase(tmp_path / "nope" / "monolith.db").open()


def _write_fruits(path: str, user_id: int, rounds: int) -> None:
    async def run() -> None:
        db = SqliteDatabase(path, busy_timeout_s=30.0)
        await db.open()
        try:
            fruits = SqliteFruits(db)
            for i in range(rounds):
                await fruits.save(user_id, ("apple", "pear")[i % 2])
        finally:
            await db.close()

    asyncio.run(run())


def test_several_processes_write_to_one_file_without_lock_errors(tmp_path):
    path = tmp_path / "monolith.db"
    make_original_database(path)
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_fruits, args=(str(path), uid, 150)) for uid in (1, 2, 3)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT user, fruit FROM fruits ORDER BY user").fetchall()
    conn.close()
    # One row per user, whatever the interleaving: the original's layout stays intact.
    assert rows == [(1, "pear"), (2, "pear"), (3, "pear")]
