import pytest

from fruitsplit.core.errors import InvalidUsername, WeakPassword
from fruitsplit.core.users import check_password, check_username


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
