"""Connections to one SQLite file: a serialized writer and a small pool of readers.

WAL lets readers run beside the writer; a busy timeout and short IMMEDIATE
transactions let several worker processes share the file without "database is
locked" errors.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from fruitsplit.adapters.sqlite.schema import LATEST_VERSION, MIGRATIONS


class SchemaError(RuntimeError):
    """The file is not a database we can use (newer schema, not SQLite, unreadable)."""


class SqliteDatabase:
    def __init__(self, path: str | Path, *, readers: int = 4, busy_timeout_s: float = 5.0) -> None:
        self.path = Path(path)
        self._reader_count = readers
        self._busy_timeout_ms = int(busy_timeout_s * 1000)
        self._writer: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all: list[aiosqlite.Connection] = []

    async def open(self) -> None:
        """Open the file (creating it), bring its schema up to date and fill the pool."""
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            await self._migrate(self._writer)
            for _ in range(self._reader_count):
                reader = await self._connect()
                await reader.execute("PRAGMA query_only=ON")
                self._readers.put_nowait(reader)
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise SchemaError(f"cannot use database {self.path}: {exc}") from exc
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()
        self._all.clear()
        self._writer = None
        self._readers = asyncio.Queue()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One IMMEDIATE transaction: committed on exit, rolled back on error."""
        if self._writer is None:
            raise RuntimeError("database is not open")
        async with self._write_lock:
            conn = self._writer
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def _connect(self) -> aiosqlite.Connection:
        if self.path.parent and not self.path.parent.exists():
            raise SchemaError(f"cannot use database {self.path}: folder does not exist")
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        self._all.append(conn)
        await conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            # Read inside the lock: another process may have migrated meanwhile.
            async with conn.execute("PRAGMA user_version") as cursor:
                row = await cursor.fetchone()
            version = int(row[0]) if row else 0
            if version > LATEST_VERSION:
                raise SchemaError(
                    f"database {self.path} has schema version {version}, newer than"
                    f" this program's {LATEST_VERSION}; upgrade the program"
                )
            for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(f"PRAGMA user_version={number}")
        except BaseException:
            await conn.rollback()
            raise
        await conn.commit()
