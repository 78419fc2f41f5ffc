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
    # 4: the move to Redis. A per-user version orders every fruit write, so a copy
    # can never put an older value over a newer one; the outbox keeps each write
    # that Redis has not confirmed yet, in the same transaction as the write itself.
    (
        "CREATE TABLE fruit_versions (user INTEGER PRIMARY KEY, version INTEGER NOT NULL)",
        "CREATE TABLE outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER NOT NULL,"
        " version INTEGER NOT NULL, created_at REAL NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at REAL NOT NULL, last_error TEXT)",
        "CREATE INDEX outbox_due ON outbox (next_attempt_at)",
        "CREATE INDEX outbox_user ON outbox (user_id, version)",
        "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
        " updated_at REAL NOT NULL)",
        "CREATE TABLE copy_checkpoints (name TEXT PRIMARY KEY, after_user_id INTEGER NOT NULL,"
        " copied INTEGER NOT NULL, updated_at REAL NOT NULL)",
    ),
)

LATEST_VERSION: Final = len(MIGRATIONS)
