"""The one table from domain errors to HTTP status codes."""

from __future__ import annotations

from fruitsplit.core.errors import (
    FruitsError,
    InvalidCredentials,
    InvalidInput,
    SpecialFruitForbidden,
    TooManyAttempts,
    UnknownUser,
    UsernameTaken,
)

_STATUS_BY_ERROR: tuple[tuple[type[FruitsError], int], ...] = (
    (InvalidInput, 400),
    (InvalidCredentials, 401),
    (SpecialFruitForbidden, 403),
    (UnknownUser, 404),
    (UsernameTaken, 409),
    (TooManyAttempts, 429),
)


def status_for(error: FruitsError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def headers_for(error: FruitsError) -> dict[str, str]:
    if isinstance(error, TooManyAttempts):
        return {"Retry-After": str(error.retry_after_s)}
    return {}
