"""Creating users, granting super, and logging in with throttling and hash upgrades."""

from __future__ import annotations

from collections.abc import Callable

from fruitsplit.core.errors import InvalidCredentials, TooManyAttempts, UnknownUser
from fruitsplit.core.passwords import is_legacy_hash, matches_legacy_hash
from fruitsplit.core.throttle import PER_ADDRESS, PER_USERNAME, ThrottleRule
from fruitsplit.core.users import MAX_USERNAME_LENGTH, User, check_password, check_username
from fruitsplit.services.ports import AccountStore, LoginFailureStore, PasswordHasher


class AccountService:
    def __init__(
        self,
        accounts: AccountStore,
        hasher: PasswordHasher,
        failures: LoginFailureStore,
        clock: Callable[[], float],
    ) -> None:
        self._accounts = accounts
        self._hasher = hasher
        self._failures = failures
        self._clock = clock

    async def create_user(self, username: str, password: str) -> User:
        check_username(username)
        check_password(password)
        return await self._accounts.insert(username, await self._hasher.hash(password))

    async def set_super(self, user_id: int, is_super: bool) -> None:
        await self._accounts.set_super(user_id, is_super)

    async def fetch_user(self, user_id: int) -> User:
        user = await self._accounts.fetch_user(user_id)
        if user is None:
            raise UnknownUser(user_id)
        return user

    async def list_users(self) -> list[User]:
        return await self._accounts.fetch_all()

    async def log_in(self, username: str, password: str, *, address: str) -> User:
        """Return the user whose password this is.

        Raises TooManyAttempts before checking anything once a limit is reached,
        and InvalidCredentials for an unknown user or a wrong password alike.
        """
        now = self._clock()
        scopes = _throttle_scopes(username, address)
        wait_s = 0
        for scope, rule in scopes:
            failures = await self._failures.fetch_since(scope, now - rule.window_s)
            wait_s = max(wait_s, rule.retry_after_s(failures, now=now))
        if wait_s:
            raise TooManyAttempts(wait_s)

        stored = await self._accounts.fetch_by_username(username)
        if stored is None:
            await self._hasher.burn_time(password)
            valid = False
        elif is_legacy_hash(stored.password_hash):
            valid = matches_legacy_hash(password, stored.password_hash)
        else:
            valid = await self._hasher.verify(stored.password_hash, password)

        if stored is None or not valid:
            longest_window = max(rule.window_s for _, rule in scopes)
            await self._failures.record(
                [scope for scope, _ in scopes], now, forget_before=now - longest_window
            )
            raise InvalidCredentials()

        await self._failures.clear(scopes[0][0])
        if is_legacy_hash(stored.password_hash) or self._hasher.needs_rehash(stored.password_hash):
            # The original's salted SHA-256 is replaced at the first login that proves the password.
            await self._accounts.replace_password_hash(
                stored.user.id, stored.password_hash, await self._hasher.hash(password)
            )
        return stored.user


def _throttle_scopes(username: str, address: str) -> list[tuple[str, ThrottleRule]]:
    # Usernames longer than any valid one share a scope; they can never log in anyway.
    return [
        (f"user:{username[: MAX_USERNAME_LENGTH + 1]}", PER_USERNAME),
        (f"addr:{address}", PER_ADDRESS),
    ]
