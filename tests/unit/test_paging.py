import base64

import pytest

from fruitsplit.core.errors import InvalidInput
from fruitsplit.core.paging import (
    DEFAULT_PAGE_LIMIT,
    MAX_PAGE_LIMIT,
    START,
    ScanPosition,
    decode_page_cursor,
    encode_page_cursor,
    parse_page_limit,
)


@pytest.mark.parametrize(
    ("text", "limit"), [(None, DEFAULT_PAGE_LIMIT), ("", 100), ("1", 1), ("1000", 1000), ("007", 7)]
)
def test_parse_page_limit_reads_a_size_from_1_to_the_maximum(text, limit):
    assert parse_page_limit(text) == limit


@pytest.mark.parametrize("text", ["0", "1001", "-1", "+5", "1.0", "ten", " 5", "99999", "\u0665"])
def test_parse_page_limit_refuses_anything_else(text):
    with pytest.raises(InvalidInput, match=f"from 1 to {MAX_PAGE_LIMIT}"):
        parse_page_limit(text)


@pytest.mark.parametrize(
    "position",
    [
        ScanPosition(0),
        ScanPosition(17, "user:3"),
        ScanPosition(2**64 - 1, "user:a:b"),
        ScanPosition(5, "user:zoë"),
    ],
)
def test_a_page_cursor_round_trips_as_opaque_url_safe_text(position):
    cursor = encode_page_cursor(position)
    assert cursor.replace("-", "").replace("_", "").isalnum()
    assert decode_page_cursor(cursor) == position


@pytest.mark.parametrize("text", [None, ""])
def test_no_cursor_is_the_first_page(text):
    assert decode_page_cursor(text) == START


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "text",
    [
        "!!!",
        "a b",
        "Zm9v",  # "foo": no separator
        _b64("x:user:1"),
        _b64("-1:"),
        _b64("01:"),
        _b64(f"{2**64}:"),
        _b64("5:other:1"),
        "A" * 2000,
        "A",
        base64.urlsafe_b64encode(b"\xff\xfe:").decode().rstrip("="),
    ],
)
def test_decode_page_cursor_refuses_what_the_service_never_issued(text):
    with pytest.raises(InvalidInput, match="cursor"):
        decode_page_cursor(text)
