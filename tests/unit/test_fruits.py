import pytest

from fruitsplit.core.errors import InvalidFruit, SpecialFruitForbidden
from fruitsplit.core.fruits import FRUITS, SPECIAL_FRUITS, check_choice, may_choose, normalize_fruit


def test_the_picker_offers_the_originals_fruits_in_order():
    assert FRUITS == ("apple", "banana", "orange", "pear", "pineapple", "kiwi")
    assert {"pineapple", "kiwi"} == SPECIAL_FRUITS


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("apple", "apple"),
        ("  Apple ", "apple"),
        ("DRAGON  fruit", "dragon fruit"),
        ("pear\n", "pear"),
        ("äpfel", "äpfel"),
    ],
)
def test_fruit_names_are_lower_cased_and_spaces_folded(raw, expected):
    assert normalize_fruit(raw) == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "a:b", "apple:", "b4n4n4", "<script>", "x" * 33, "pe\nar", "kiwi\x00", "ki\twi"],
)
def test_fruit_names_with_anything_but_letters_and_spaces_are_refused(raw):
    with pytest.raises(InvalidFruit):
        normalize_fruit(raw)


def test_a_fruit_of_exactly_32_letters_is_allowed():
    assert normalize_fruit("x" * 32) == "x" * 32


def test_special_fruits_need_a_super_user():
    assert not may_choose("pineapple", is_super=False)
    assert may_choose("pineapple", is_super=True)
    assert may_choose("apple", is_super=False)
    with pytest.raises(SpecialFruitForbidden, match="only super users may choose kiwi"):
        check_choice(" KIWI", is_super=False)
    assert check_choice(" KIWI", is_super=True) == "kiwi"
