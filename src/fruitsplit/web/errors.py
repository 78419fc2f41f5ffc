"""The one table from domain errors to HTTP status codes."""

from __future__ import annotations

from fruitsplit.core.errors import (
    CorruptRecord,
    FruitsError,
    FruitsServiceUnavailable,
    InvalidCredentials,
    InvalidInput,
    InvalidToken,
    RecordNotFound,
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
    (InvalidToken, 401),
    (RecordNotFound, 404),
    # Not 404: that would hide lost data as "no fruit"; not 500: the service works,
    # this one record does not, and writing a new fruit for the user replaces it.
    (CorruptRecord, 409),
    (FruitsServiceUnavailable, 503),
)


def status_for(error: FruitsError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def headers_for(error: FruitsError) -> dict[str, str]:
    if isinstance(error, TooManyAttempts):
        return {"Retry-After": str(error.retry_after_s)}
    if isinstance(error, InvalidToken):
        # RFC 6750 §3: no error code when no token came; the kind is a closed set.
        if error.kind == "missing":
            return {"WWW-Authenticate": "Bearer"}
        challenge = f'Bearer error="invalid_token", error_description="{error.kind}"'
        return {"WWW-Authenticate": challenge}
    return {}
