import pytest

from fruitsplit.core.errors import (
    CorruptRecord,
    FruitsError,
    InvalidCredentials,
    InvalidFruit,
    InvalidInput,
    InvalidToken,
    RecordNotFound,
    SpecialFruitForbidden,
    TokenExpired,
    TooManyAttempts,
    UnknownUser,
    UsernameTaken,
)
from fruitsplit.web.errors import headers_for, status_for


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidFruit("x"), 400),
        (InvalidCredentials(), 401),
        (SpecialFruitForbidden("kiwi"), 403),
        (UnknownUser(3), 404),
        (UsernameTaken("a"), 409),
        (TooManyAttempts(12), 429),
        (FruitsError("other"), 400),
        (InvalidInput("bad limit"), 400),
        (InvalidToken("signature", "signature does not verify"), 401),
        (TokenExpired(), 401),
        (RecordNotFound(3), 404),
        (CorruptRecord("bad_base64", "failed to decode username"), 409),
    ],
)
def test_each_domain_error_has_one_status(error, status):
    assert status_for(error) == status


def test_too_many_attempts_tells_when_to_retry():
    assert headers_for(TooManyAttempts(12)) == {"Retry-After": "12"}


def test_a_refused_token_gets_a_bearer_challenge_naming_only_the_kind():
    assert headers_for(InvalidToken("missing", "no token")) == {"WWW-Authenticate": "Bearer"}
    assert headers_for(TokenExpired()) == {
        "WWW-Authenticate": 'Bearer error="invalid_token", error_description="expired"'
    }
