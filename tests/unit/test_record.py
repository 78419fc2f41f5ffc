"""The record key and value codec, against the original's format and its failure modes."""

from __future__ import annotations

import itertools

import pytest

from fruitsplit.core.errors import CorruptRecord
from fruitsplit.core.record import (
    FruitRecord,
    _illegal_base64_offset,
    decode_record,
    encode_record,
    encode_records,
    parse_record_key,
    parse_record_keys,
    record_key,
    record_keys,
)


def test_record_key_is_user_colon_decimal_id() -> None:
    assert record_key(1) == "user:1"
    assert record_key(0) == "user:0"
    assert record_key(1234567890123) == "user:1234567890123"


@pytest.mark.parametrize("user_id", [-1, True])
def test_record_key_refuses_ids_no_key_could_name(user_id: int) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        record_key(user_id)


@pytest.mark.parametrize(("key", "user_id"), [("user:1", 1), ("user:0", 0), ("user:907", 907)])
def test_parse_record_key_returns_the_id(key: str, user_id: int) -> None:
    assert parse_record_key(key) == user_id
    assert record_key(user_id) == key


@pytest.mark.parametrize(
    "key",
    [
        "user:",
        "user:abc",
        "user:-1",
        "user:+1",
        "user: 1",
        "user:1 ",
        "user:1\n",
        " user:1",
        "user:01",
        "user:1.0",
        "user:1_000",
        "user:\u0661",  # ARABIC-INDIC DIGIT ONE: str.isdigit() says yes
        "user:\u00b2",  # SUPERSCRIPT TWO
        "User:1",
        "user:1:2",
        "other:1",
        "",
    ],
)
def test_parse_record_key_returns_none_for_keys_that_are_not_exactly_a_record_key(
    key: str,
) -> None:
    assert parse_record_key(key) is None


def test_encode_record_matches_the_original_example() -> None:
    assert encode_record("michael", "orange") == "bWljaGFlbA==:orange"


def test_decode_record_reads_the_original_example() -> None:
    assert decode_record("bWljaGFlbA==:orange") == FruitRecord("michael", "orange")


@pytest.mark.parametrize(
    "username",
    [
        "a:b::c:",
        "two words ",
        " ",
        "",
        "Zoë Ñoño 山田",
        "<script>alert('x')</script>&amp;",
        "🍍🥝 pineapple",
        "tab\tand\nnewline",
    ],
)
def test_record_round_trips_any_username(username: str) -> None:
    value = encode_record(username, "kiwi")
    assert value.count(":") == 1
    assert decode_record(value) == FruitRecord(username, "kiwi")


def test_encode_record_refuses_a_fruit_containing_the_separator() -> None:
    with pytest.raises(ValueError, match="may not contain ':'"):
        encode_record("michael", "blood:orange")


@pytest.mark.parametrize(
    ("value", "separators"),
    [("bWljaGFlbA==", 0), ("", 0), ("bWljaGFlbA==:orange:x", 2), ("::", 2)],
)
def test_decode_record_reports_bad_shape_unless_there_is_exactly_one_separator(
    value: str, separators: int
) -> None:
    with pytest.raises(CorruptRecord) as caught:
        decode_record(value)
    assert caught.value.kind == "bad_shape"
    assert str(caught.value) == f"invalid record: expected one ':', found {separators}"


def test_decode_record_reports_the_articles_corruption_as_the_original_logs_it() -> None:
    with pytest.raises(CorruptRecord) as caught:
        decode_record("bWFya%!@#$WFuxy:pineapple")
    assert caught.value.kind == "bad_base64"
    assert str(caught.value) == "failed to decode username: illegal base64 data at input byte 5"


@pytest.mark.parametrize(
    ("encoded", "offset"),
    [
        ("bWljaGFlbA", 8),  # padding missing: Go reports the start of the short quantum
        ("bWljaGFlbA=", 11),  # one "=" of two
        ("bWljaGFlbA=x", 10),  # "=" followed by data
        ("bWljaGFlbA==x", 12),  # trailing garbage after padding
        ("=", 0),
        ("a===", 1),
        ("bWlj aGFl", 4),
        ("bWlj\naGFl", 4),  # Go would skip the newline; decode_record is stricter
        ("bWljaGFlbA-_", 10),  # URL-safe alphabet is not the standard one
        ("bWljaGFsbA==é", 12),
    ],
)
def test_decode_record_reports_bad_base64_at_the_byte_go_would_name(
    encoded: str, offset: int
) -> None:
    with pytest.raises(CorruptRecord) as caught:
        decode_record(f"{encoded}:apple")
    assert caught.value.kind == "bad_base64"
    assert str(caught.value) == (
        f"failed to decode username: illegal base64 data at input byte {offset}"
    )


def test_decode_record_reports_bad_base64_when_the_username_is_not_utf8() -> None:
    with pytest.raises(CorruptRecord) as caught:
        decode_record("/w==:apple")  # the single byte 0xFF
    assert caught.value.kind == "bad_base64"
    assert str(caught.value).startswith("failed to decode username: ")


def test_decode_record_accepts_an_empty_username_and_fruit_as_the_original_does() -> None:
    assert decode_record(":") == FruitRecord("", "")


def test_corrupt_record_kinds_are_a_closed_set() -> None:
    kinds = set()
    for value in ("x", "%%:apple", "/w==:apple"):
        with pytest.raises(CorruptRecord) as caught:
            decode_record(value)
        kinds.add(caught.value.kind)
    assert kinds == set(CorruptRecord.KINDS)


def test_decode_record_accepts_exactly_the_usernames_gos_decoder_accepts() -> None:
    # Every string of up to 6 characters over an alphabet that exercises padding,
    # illegal bytes and non-ASCII: the fast check and the port of Go's decoder agree.
    alphabet = "A=!Qé"
    for length in range(7):
        for letters in itertools.product(alphabet, repeat=length):
            encoded = "".join(letters)
            if _illegal_base64_offset(encoded.encode()) is None:
                assert decode_record(f"{encoded}:kiwi").fruit == "kiwi"
            else:
                with pytest.raises(CorruptRecord, match="failed to decode username"):
                    decode_record(f"{encoded}:kiwi")


# --- the bulk codec of copies and verifications ---------------------------------------


def test_encode_records_encodes_each_pair_as_encode_record_does() -> None:
    usernames = ["michael", "zoë", "", "a:b", "é" * 40, "x\ny"]
    fruits = ["orange", "kiwi", "pear", "apple", "banana", "fig"]
    assert encode_records(usernames, fruits) == [
        encode_record(username, fruit) for username, fruit in zip(usernames, fruits, strict=True)
    ]
    assert encode_records([], []) == []


def test_encode_records_refuses_a_fruit_holding_the_separator() -> None:
    with pytest.raises(ValueError, match="may not contain ':'"):
        encode_records(["michael", "anna"], ["orange", "blood:orange"])


def test_record_keys_names_each_id_as_record_key_does() -> None:
    assert record_keys([0, 1, 42]) == [record_key(0), record_key(1), record_key(42)]
    with pytest.raises(ValueError, match="non-negative"):
        record_keys([3, -1])


def test_parse_record_keys_reads_each_key_as_parse_record_key_does() -> None:
    keys = ["user:1", "user:0", "user:01", "user:abc", "user:", "user:²", "user:1\nuser:2", "x"]
    assert parse_record_keys(keys) == [parse_record_key(key) for key in keys]
    assert parse_record_keys(["user:5", "user:10"]) == [5, 10]
    assert parse_record_keys([]) == []
