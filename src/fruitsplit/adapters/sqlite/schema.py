"""Numbered schema migrations, applied in order and recorded in PRAGMA user_version.

Version 1 is the original's own layout, so a database file made by the original
(user_version 0, both tables present) upgrades in place without losing a row.
"""

from __future__ import annotations

from typing import Final

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: the original's tables, exactly as it creates them.
    (
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " username TEXT, password TEXT, super INTEGER DEFAULT 0)",
        "CREATE TABLE IF NOT EXISTS fruits (id INTEGER PRIMARY KEY, user INTEGER, fruit TEXT)",
    ),
    # 2: server-side sessions (only a hash of the cookie is stored) and lookup indexes.
    (
        "CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL,"
        " csrf_token TEXT NOT NULL, created_at REAL NOT NULL, last_seen_at REAL NOT NULL)",
        "CREATE INDEX sessions_user_id ON sessions (user_id)",
        "CREATE INDEX users_username ON users (username)",
        "CREATE INDEX fruits_user ON fruits (user)",
    ),
    # 3: failed logins, shared by every worker process for throttling.
    (
        "CREATE TABLE login_failures (scope TEXT NOT NULL, at REAL NOT NULL)",
        "CREATE INDEX login_failures_scope_at ON login_failures (scope, at)",
    ),
)

LATEST_VERSION: Final = len(MIGRATIONS)
