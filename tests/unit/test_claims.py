import math
from datetime import UTC, datetime, timedelta

import pytest

from fruitsplit.core.claims import TokenSubject, build_claims, check_claims
from fruitsplit.core.errors import InvalidToken, TokenExpired
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


# --- check_claims: what the fruits service accepts ---------------------------------------

LEEWAY = timedelta(seconds=5)
MISSING = object()


def valid_claims(**overrides):
    claims = {
        "sub": "user:7",
        "aud": "service:fruits",
        "exp": int(NOW.timestamp()) + 30,
        "super": True,
        "username": "marian",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not MISSING}


def test_check_claims_returns_the_subject_of_claims_the_monolith_builds():
    claims = build_claims(User(7, "marian", True), now=NOW)
    assert check_claims(claims, now=NOW, leeway=LEEWAY) == TokenSubject(7, "marian", True)


@pytest.mark.parametrize("audience", [["service:other", "service:fruits"], ["service:fruits"]])
def test_check_claims_accepts_an_audience_list_naming_the_service(audience):
    subject = check_claims(valid_claims(aud=audience), now=NOW, leeway=LEEWAY)
    assert subject.user_id == 7


@pytest.mark.parametrize(
    "audience",
    [MISSING, "service:other", "service:fruits ", ["service:other"], [], [None, "x"], None, 1],
)
def test_check_claims_refuses_a_token_for_another_audience(audience):
    with pytest.raises(InvalidToken, match="not for service:fruits") as caught:
        check_claims(valid_claims(aud=audience), now=NOW, leeway=LEEWAY)
    assert caught.value.kind == "claims"


def test_check_claims_refuses_an_audience_list_with_a_member_that_is_not_a_string():
    with pytest.raises(InvalidToken, match="not for service:fruits"):
        check_claims(valid_claims(aud=["service:fruits", 3]), now=NOW, leeway=LEEWAY)


def test_check_claims_accepts_a_token_expired_less_than_the_leeway_ago():
    claims = valid_claims(exp=int(NOW.timestamp()) - 4)
    assert check_claims(claims, now=NOW, leeway=LEEWAY).username == "marian"


@pytest.mark.parametrize("seconds_ago", [5, 6, 3600])
def test_check_claims_refuses_a_token_expired_the_leeway_ago_or_more(seconds_ago):
    claims = valid_claims(exp=int(NOW.timestamp()) - seconds_ago)
    with pytest.raises(TokenExpired) as caught:
        check_claims(claims, now=NOW, leeway=LEEWAY)
    assert caught.value.kind == "expired"


def test_check_claims_without_leeway_refuses_a_token_at_its_exp():
    with pytest.raises(TokenExpired):
        check_claims(valid_claims(exp=NOW.timestamp()), now=NOW, leeway=timedelta(0))


@pytest.mark.parametrize(
    ("exp", "reason"),
    [
        (MISSING, "no exp"),
        ("2000000000", "number of seconds"),
        (None, "number of seconds"),
        (True, "number of seconds"),
        (math.inf, "number of seconds"),
        (math.nan, "number of seconds"),
        ([2_000_000_000], "number of seconds"),
    ],
)
def test_check_claims_refuses_a_missing_or_ill_typed_exp(exp, reason):
    with pytest.raises(InvalidToken, match=reason) as caught:
        check_claims(valid_claims(exp=exp), now=NOW, leeway=LEEWAY)
    assert not isinstance(caught.value, TokenExpired)


def test_check_claims_accepts_a_fractional_exp():
    claims = valid_claims(exp=NOW.timestamp() + 0.5)
    assert check_claims(claims, now=NOW, leeway=timedelta(0)).user_id == 7


def test_check_claims_refuses_a_token_not_valid_yet():
    with pytest.raises(InvalidToken, match="not valid yet"):
        check_claims(valid_claims(nbf=NOW.timestamp() + 60), now=NOW, leeway=LEEWAY)
    with pytest.raises(InvalidToken, match="number of seconds"):
        check_claims(valid_claims(nbf="soon"), now=NOW, leeway=LEEWAY)
    assert check_claims(valid_claims(nbf=NOW.timestamp() + 4), now=NOW, leeway=LEEWAY)


@pytest.mark.parametrize(
    ("sub", "user_id"), [("user:0", 0), ("user:9223372036854775807", 2**63 - 1)]
)
def test_check_claims_reads_the_user_id_from_sub(sub, user_id):
    assert check_claims(valid_claims(sub=sub), now=NOW, leeway=LEEWAY).user_id == user_id


@pytest.mark.parametrize(
    "sub",
    [
        MISSING,
        None,
        7,
        "7",
        "user:",
        "user:-1",
        "user:+1",
        "user:01",
        "user: 1",
        "user:1 ",
        "user:1\n",
        "User:1",
        "users:1",
        "user:1:2",
        "user:1.0",
        "user:\u0661",
        "user:9223372036854775808",
        "user:" + "9" * 20,
        ["user:1"],
    ],
)
def test_check_claims_refuses_a_sub_that_is_not_exactly_user_colon_digits(sub):
    with pytest.raises(InvalidToken, match="sub must be user:<id>"):
        check_claims(valid_claims(sub=sub), now=NOW, leeway=LEEWAY)


@pytest.mark.parametrize("username", [MISSING, None, "", 42, ["marian"], "x" * 257, "bad\ud800"])
def test_check_claims_refuses_a_missing_or_unusable_username(username):
    with pytest.raises(InvalidToken, match="username must be"):
        check_claims(valid_claims(username=username), now=NOW, leeway=LEEWAY)


@pytest.mark.parametrize("username", ["a", "x" * 256, "名前", "a:b", "<script>"])
def test_check_claims_keeps_any_other_username_as_signed(username):
    assert (
        check_claims(valid_claims(username=username), now=NOW, leeway=LEEWAY).username == username
    )


@pytest.mark.parametrize("flag", [MISSING, None, "true", "false", 1, 0, "yes"])
def test_check_claims_refuses_super_unless_it_is_a_real_bool(flag):
    with pytest.raises(InvalidToken, match="super must be true or false"):
        check_claims(valid_claims(super=flag), now=NOW, leeway=LEEWAY)


def test_check_claims_reads_super_false_as_a_normal_user():
    assert check_claims(valid_claims(super=False), now=NOW, leeway=LEEWAY).is_super is False


def test_invalid_token_kinds_are_a_closed_set():
    assert TokenExpired().kind in InvalidToken.KINDS
    assert str(TokenExpired()) == "invalid token: token has expired"
