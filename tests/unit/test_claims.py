from datetime import UTC, datetime, timedelta

from fruitsplit.core.claims import build_claims
from fruitsplit.core.users import User

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_claims_name_the_user_the_audience_and_expire_after_the_lifetime():
    claims = build_claims(User(7, "marian", True), now=NOW, lifetime=timedelta(seconds=30))
    assert claims == {
        "sub": "user:7",
        "aud": "service:fruits",
        "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 30,
        "super": True,
        "username": "marian",
    }


def test_extra_claims_never_override_sub_aud_or_exp():
    claims = build_claims(
        User(1, "michael", False),
        now=NOW,
        extra={"sub": "user:0", "aud": "service:other", "exp": 0, "scope": "fruits"},
    )
    assert claims["sub"] == "user:1"
    assert claims["aud"] == "service:fruits"
    assert claims["exp"] == int(NOW.timestamp()) + 30
    assert claims["scope"] == "fruits"
