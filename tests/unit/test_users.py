import pytest

from fruitsplit.core.errors import InvalidInput, InvalidUsername, WeakPassword
from fruitsplit.core.users import check_password, check_username, parse_user_id


@pytest.mark.parametrize(
    "name", ["michael", "Marian K", "a:b", "<script>alert(1)</script>", "名前"]
)
def test_ordinary_usernames_are_accepted_as_given(name):
    assert check_username(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "required"),
        ("   ", "required"),
        ("x" * 65, "at most 64"),
        (" michael", "white space"),
        ("mich\x00ael", "control"),
        ("mich\nael", "control"),
        ("evil\u202egnp", "control"),
    ],
)
def test_unusable_usernames_are_refused_with_a_reason(name, reason):
    with pytest.raises(InvalidUsername, match=reason):
        check_username(name)


def test_passwords_need_at_least_eight_characters():
    assert check_password("12345678") == "12345678"
    with pytest.raises(WeakPassword, match="at least 8"):
        check_password("1234567")


@pytest.mark.parametrize(
    ("text", "user_id"),
    [("0", 0), ("7", 7), ("007", 7), ("9223372036854775807", 2**63 - 1)],
)
def test_parse_user_id_reads_ascii_digits_as_the_original_does(text, user_id):
    assert parse_user_id(text) == user_id


@pytest.mark.parametrize(
    "text",
    ["", "-1", "+1", " 1", "1 ", "1.0", "1e3", "abc", "\u0661", "9223372036854775808", "1" * 20],
)
def test_parse_user_id_refuses_anything_but_a_non_negative_64_bit_integer(text):
    with pytest.raises(InvalidInput, match="user id"):
        parse_user_id(text)
