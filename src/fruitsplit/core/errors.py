"""The domain's error tree; the web layer maps each to a status code.

FruitsError
 +-- InvalidInput
 |    +-- InvalidFruit
 |    +-- InvalidUsername
 |    +-- WeakPassword
 +-- SpecialFruitForbidden
 +-- UsernameTaken
 +-- UnknownUser
 +-- InvalidCredentials
 +-- TooManyAttempts
 +-- CorruptRecord
 +-- RecordNotFound
 +-- InvalidToken
 |    +-- TokenExpired
 +-- UnavailableInPhase
 +-- FruitsServiceUnavailable
"""

from __future__ import annotations

from fruitsplit.core.phases import Phase


class FruitsError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(FruitsError):
    """A value from outside breaks a rule; the message says which."""


class InvalidFruit(InvalidInput):
    pass


class InvalidUsername(InvalidInput):
    pass


class WeakPassword(InvalidInput):
    pass


class SpecialFruitForbidden(FruitsError):
    def __init__(self, fruit: str) -> None:
        super().__init__(f"only super users may choose {fruit}")
        self.fruit = fruit


class UsernameTaken(FruitsError):
    def __init__(self, username: str) -> None:
        super().__init__(f"username {username!r} is taken")
        self.username = username


class UnknownUser(FruitsError):
    def __init__(self, user_id: int) -> None:
        super().__init__(f"no user with id {user_id}")
        self.user_id = user_id


class InvalidCredentials(FruitsError):
    def __init__(self) -> None:
        super().__init__("wrong username or password")


class TooManyAttempts(FruitsError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_s} s")
        self.retry_after_s = retry_after_s


class CorruptRecord(FruitsError):
    """A stored fruit record that does not decode; `kind` is a closed set for metrics."""

    KINDS = ("bad_shape", "bad_base64")

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail


class RecordNotFound(FruitsError):
    """The fruits service holds no record for the user (not: the user does not exist)."""

    def __init__(self, user_id: int) -> None:
        super().__init__(f"no fruit recorded for user {user_id}")
        self.user_id = user_id


class InvalidToken(FruitsError):
    """A token that must not be trusted; `kind` is a closed set for metrics.

    The message names what was wrong, for the client and the log; it never
    repeats the token.
    """

    KINDS = (
        "missing",
        "too_large",
        "malformed",
        "algorithm",
        "unknown_key",
        "signature",
        "claims",
        "expired",
    )

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(f"invalid token: {reason}")
        self.kind = kind
        self.reason = reason


class TokenExpired(InvalidToken):
    def __init__(self, reason: str = "token has expired") -> None:
        super().__init__("expired", reason)


class FruitsServiceUnavailable(FruitsError):
    """After cut-over: the fruits service did not answer, or not in a way we can use."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"the fruits service is unavailable: {detail}")


class UnavailableInPhase(FruitsError):
    """An operation the phase in force does not allow; the message says why."""

    def __init__(self, action: str, phase: Phase, reason: str) -> None:
        super().__init__(f"cannot {action} in phase {phase}: {reason}")
        self.action = action
        self.phase = phase
