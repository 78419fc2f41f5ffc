"""Users and fruits written straight into a test database, as the original writes them.

Fast enough for thousands of users: one sqlite3 transaction, no password hashing
beyond the original's SHA-256. The rows carry no version (version 0), like rows
the original wrote before the move to Redis began.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from fruitsplit.core.fruits import FRUITS
from fruitsplit.core.passwords import legacy_password_hash

PASSWORD = "correct horse"


def plain_fruit(user_id: int) -> str:
    return FRUITS[user_id % 4]


def insert_users(
    db_file: Path,
    count: int,
    *,
    first_id: int = 1,
    fruit: Callable[[int], str | None] = plain_fruit,
    password: str = PASSWORD,
) -> list[int]:
    """Add `count` users named "user<id>" (ids from `first_id`) and their fruits; return the ids.

    A user whose `fruit(id)` is None gets no fruit row.
    """
    ids = list(range(first_id, first_id + count))
    stored = legacy_password_hash(password)
    with sqlite3.connect(db_file) as conn:
        # The original's own tables: the app's schema migrations adopt them as they are.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " username TEXT, password TEXT, super INTEGER DEFAULT 0)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS fruits (id INTEGER PRIMARY KEY, user INTEGER, fruit TEXT)"
        )
        conn.executemany(
            "INSERT INTO users (id, username, password) VALUES (?, ?, ?)",
            [(user_id, f"user{user_id}", stored) for user_id in ids],
        )
        conn.executemany(
            "INSERT INTO fruits (user, fruit) VALUES (?, ?)",
            [(user_id, name) for user_id in ids if (name := fruit(user_id)) is not None],
        )
    conn.close()
    return ids
