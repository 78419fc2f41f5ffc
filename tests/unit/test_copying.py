"""Pages of fruits, write tallies and the user id bitmap the copy and the verifier use."""

from __future__ import annotations

import random

import pytest

from fruitsplit.core.copying import FruitPage, UserIdBitmap, WriteTally
from fruitsplit.core.fruits import VersionedFruit
from fruitsplit.core.phases import Phase, is_sqlite_source_of_truth


def page_of(*rows: tuple[int, object, object, int]) -> FruitPage:
    return FruitPage(*(list(column) for column in zip(*rows, strict=True)))  # type: ignore[arg-type]


def test_fruit_page_round_trips_its_rows() -> None:
    rows = [VersionedFruit(1, "michael", "orange", 0), VersionedFruit(3, "zoë", "kiwi", 4)]
    page = FruitPage.of(rows)
    assert len(page) == 2
    assert list(page) == rows
    assert page.user_ids == [1, 3]


def test_fruit_page_keeps_itself_whole_when_every_row_fits_a_record() -> None:
    page = page_of((1, "michael", "orange", 0), (2, "a:b", "pear", 1))
    storable, dropped = page.split_storable()
    assert storable is page
    assert dropped == []


def test_fruit_page_drops_rows_no_record_can_hold_and_names_them() -> None:
    page = page_of(
        (1, "michael", "orange", 0),
        (2, "anna", "blood:orange", 0),  # the separator: the original let it through
        (3, None, "pear", 0),
        (4, "marian", None, 2),
        (5, "zoë", "kiwi", 7),
    )
    storable, dropped = page.split_storable()
    assert dropped == [2, 3, 4]
    assert list(storable) == [
        VersionedFruit(1, "michael", "orange", 0),
        VersionedFruit(5, "zoë", "kiwi", 7),
    ]


def test_empty_fruit_page_is_falsy() -> None:
    assert not FruitPage()
    assert FruitPage().split_storable()[1] == []


def test_write_tallies_add_up() -> None:
    total = WriteTally(1, 2, 3) + WriteTally(written=10)
    assert total == WriteTally(11, 2, 3)
    assert total.total == 16


def test_user_id_bitmap_holds_the_ids_added_and_nothing_else() -> None:
    bitmap = UserIdBitmap(capacity=1000)
    bitmap.add_all([0, 1, 7, 8, 999])
    assert bitmap.contains_each([0, 1, 2, 7, 8, 9, 999, None, -1]) == [
        True,
        True,
        False,
        True,
        True,
        False,
        True,
        False,
        False,
    ]


def test_user_id_bitmap_leaves_out_ids_beyond_its_capacity() -> None:
    bitmap = UserIdBitmap(capacity=16)
    bitmap.add_all([15, 16, 10_000, -3])
    bitmap.add_range(10, 40)
    assert bitmap.contains_each([15, 16, 17, 10_000, -3]) == [True, False, False, False, False]


@pytest.mark.parametrize("seed", range(20))
def test_user_id_bitmap_adds_a_range_as_adding_each_id_would(seed: int) -> None:
    rng = random.Random(seed)
    capacity = rng.randint(1, 200)
    first, stop = rng.randint(-5, 210), rng.randint(-5, 220)
    earlier = rng.sample(range(230), 6)
    by_range, by_id = UserIdBitmap(capacity), UserIdBitmap(capacity)
    for bitmap in (by_range, by_id):
        bitmap.add_all(earlier)
    by_range.add_range(first, stop)
    by_id.add_all(range(first, stop))
    probe = range(-5, 240)
    assert by_range.contains_each(probe) == by_id.contains_each(probe)


def test_sqlite_is_the_source_of_truth_until_cut_over() -> None:
    assert [phase for phase in Phase if is_sqlite_source_of_truth(phase)] == [
        Phase.LEGACY,
        Phase.DUAL_WRITE,
    ]
