import pytest

from fruitsplit.core.errors import (
    FruitsError,
    InvalidCredentials,
    InvalidFruit,
    SpecialFruitForbidden,
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
    ],
)
def test_each_domain_error_has_one_status(error, status):
    assert status_for(error) == status


def test_too_many_attempts_tells_when_to_retry():
    assert headers_for(TooManyAttempts(12)) == {"Retry-After": "12"}
