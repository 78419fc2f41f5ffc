"""Accounts and login sessions over a real SQLite file."""

import asyncio
import sqlite3

import pytest

from fruitsplit.adapters.sqlite import SqliteDatabase
from fruitsplit.adapters.sqlite.sessions import SqliteSessions
from fruitsplit.core.errors import InvalidCredentials, TooManyAttempts, UnknownUser, UsernameTaken
from fruitsplit.core.sessions import SessionPolicy
from fruitsplit.services.login_sessions import SessionService
from fruitsplit.wiring import build_account_service
from tests.support.monolith import fast_hasher


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def db(tmp_path):
    database = SqliteDatabase(tmp_path / "monolith.db")
    await database.open()
    yield database
    await database.close()


async def test_usernames_are_unique_even_when_created_at_once(tmp_path, db):
    other = SqliteDatabase(tmp_path / "monolith.db")
    await other.open()
    try:
        results = await asyncio.gather(
            build_account_service(db, hasher=fast_hasher()).create_user("anna", "password1"),
            build_account_service(other, hasher=fast_hasher()).create_user("anna", "password2"),
            return_exceptions=True,
        )
    finally:
        await other.close()
    assert sum(isinstance(result, UsernameTaken) for result in results) == 1
    with sqlite3.connect(tmp_path / "monolith.db") as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE username = 'anna'").fetchone() == (1,)
    conn.close()


async def test_a_new_password_is_stored_as_argon2id_never_in_clear(db):
    accounts = build_account_service(db, hasher=fast_hasher())
    await accounts.create_user("anna", "s3cret-pass")
    async with db.read() as conn, conn.execute("SELECT password FROM users") as cursor:
        (stored,) = await cursor.fetchone()
    assert stored.startswith("$argon2id$")
    assert "s3cret-pass" not in stored


async def test_super_can_be_granted_and_taken_and_unknown_ids_are_reported(db):
    accounts = build_account_service(db, hasher=fast_hasher())
    user = await accounts.create_user("anna", "password1")
    await accounts.set_super(user.id, True)
    assert (await accounts.fetch_user(user.id)).is_super
    await accounts.set_super(user.id, False)
    assert not (await accounts.fetch_user(user.id)).is_super
    with pytest.raises(UnknownUser):
        await accounts.set_super(999, True)


async def test_wrong_password_and_unknown_user_fail_alike(db):
    accounts = build_account_service(db, hasher=fast_hasher())
    await accounts.create_user("anna", "password1")
    with pytest.raises(InvalidCredentials) as wrong_password:
        await accounts.log_in("anna", "password2", address="10.0.0.1")
    with pytest.raises(InvalidCredentials) as unknown_user:
        await accounts.log_in("nobody", "password1", address="10.0.0.1")
    assert str(wrong_password.value) == str(unknown_user.value)


async def test_logins_are_throttled_per_username_across_workers_and_recover(tmp_path, db):
    clock = Clock()
    accounts = build_account_service(db, hasher=fast_hasher(), clock=clock)
    await accounts.create_user("anna", "password1")
    for i in range(5):
        with pytest.raises(InvalidCredentials):
            await accounts.log_in("anna", "wrong-pass", address=f"10.0.0.{i}")
    # Another worker process, with its own connection, sees the same count.
    other = SqliteDatabase(tmp_path / "monolith.db")
    await other.open()
    try:
        other_accounts = build_account_service(other, hasher=fast_hasher(), clock=clock)
        with pytest.raises(TooManyAttempts) as limited:
            await other_accounts.log_in("anna", "password1", address="10.0.0.9")
    finally:
        await other.close()
    assert 0 < limited.value.retry_after_s <= 300
    clock.now += limited.value.retry_after_s
    assert (await accounts.log_in("anna", "password1", address="10.0.0.9")).username == "anna"


async def test_logins_are_throttled_per_address_across_usernames(db):
    accounts = build_account_service(db, hasher=fast_hasher(), clock=Clock())
    for i in range(20):
        with pytest.raises(InvalidCredentials):
            await accounts.log_in(f"guess{i}", "password1", address="10.9.9.9")
    with pytest.raises(TooManyAttempts):
        await accounts.log_in("someone", "password1", address="10.9.9.9")


async def test_a_session_survives_a_restart_and_ends_at_logout(tmp_path, db):
    user = await build_account_service(db, hasher=fast_hasher()).create_user("anna", "password1")
    clock = Clock()
    token = await SessionService(SqliteSessions(db), SessionPolicy(), clock).start(user)
    await db.close()

    restarted = SqliteDatabase(tmp_path / "monolith.db")
    await restarted.open()
    try:
        sessions = SessionService(SqliteSessions(restarted), SessionPolicy(), clock)
        active = await sessions.resolve(token)
        assert active is not None
        assert active.user == user
        await sessions.end(token)
        assert await sessions.resolve(token) is None
    finally:
        await restarted.close()


async def test_only_a_hash_of_the_session_token_is_stored(db):
    user = await build_account_service(db, hasher=fast_hasher()).create_user("anna", "password1")
    token = await SessionService(SqliteSessions(db), SessionPolicy(), Clock()).start(user)
    assert len(token) >= 43  # 256 random bits, base64url
    async with db.read() as conn, conn.execute("SELECT token_hash FROM sessions") as cursor:
        (stored,) = await cursor.fetchone()
    assert token not in stored


async def test_an_idle_session_expires_and_is_deleted(db):
    user = await build_account_service(db, hasher=fast_hasher()).create_user("anna", "password1")
    clock = Clock()
    sessions = SessionService(SqliteSessions(db), SessionPolicy(idle_timeout_s=60.0), clock)
    token = await sessions.start(user)
    clock.now += 30
    assert await sessions.resolve(token) is not None
    clock.now += 61
    assert await sessions.resolve(token) is None
    async with db.read() as conn, conn.execute("SELECT count(*) FROM sessions") as cursor:
        assert await cursor.fetchone() == (0,)


async def test_a_login_sweeps_away_sessions_nobody_came_back_for(db):
    accounts = build_account_service(db, hasher=fast_hasher())
    user = await accounts.create_user("anna", "password1")
    clock = Clock()
    sessions = SessionService(SqliteSessions(db), SessionPolicy(idle_timeout_s=60.0), clock)
    await sessions.start(user)
    clock.now += 61
    fresh = await sessions.start(user)
    async with db.read() as conn, conn.execute("SELECT count(*) FROM sessions") as cursor:
        assert await cursor.fetchone() == (1,)
    assert await sessions.resolve(fresh) is not None
