"""Pages of the record list: the page size rule and the opaque cursor a client sends back.

A cursor names a place in a Redis SCAN: the SCAN cursor of the step the next
page starts in, and the last key already returned from that step (a SCAN step
can hold more keys than a page has room for). It is base64url text, so a client
treats it as opaque and never builds one.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from fruitsplit.core.errors import InvalidInput
from fruitsplit.core.record import RECORD_KEY_PREFIX

DEFAULT_PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 1000
# A SCAN cursor is an unsigned 64-bit integer.
MAX_SCAN_CURSOR = 2**64 - 1
MAX_CURSOR_LENGTH = 1024
_LIMIT = re.compile(r"[0-9]{1,4}")
_CURSOR_TEXT = re.compile(r"[A-Za-z0-9_-]+")
_SCAN_CURSOR = re.compile(r"0|[1-9][0-9]{0,19}")
_BAD_CURSOR = "cursor must be a next_cursor this service returned"


@dataclass(frozen=True, slots=True)
class ScanPosition:
    """Where a page starts: SCAN from `scan_cursor`, after `after_key` if it is still there."""

    scan_cursor: int
    after_key: str | None = None


START = ScanPosition(0)


def parse_page_limit(text: str | None) -> int:
    """Return the page size `text` asks for (default 100), or raise InvalidInput."""
    if text is None or text == "":
        return DEFAULT_PAGE_LIMIT
    if _LIMIT.fullmatch(text) is None or not 1 <= int(text) <= MAX_PAGE_LIMIT:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_PAGE_LIMIT}")
    return int(text)


def encode_page_cursor(position: ScanPosition) -> str:
    text = f"{position.scan_cursor}:{position.after_key or ''}"
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_page_cursor(text: str | None) -> ScanPosition:
    """Read a cursor from encode_page_cursor; None or "" is the first page.

    Raises InvalidInput for anything encode_page_cursor could not have written.
    """
    if text is None or text == "":
        return START
    if len(text) > MAX_CURSOR_LENGTH or _CURSOR_TEXT.fullmatch(text) is None:
        raise InvalidInput(_BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidInput(_BAD_CURSOR) from None
    scan_cursor, separator, after_key = decoded.partition(":")
    if (
        not separator
        or _SCAN_CURSOR.fullmatch(scan_cursor) is None
        or int(scan_cursor) > MAX_SCAN_CURSOR
        or (after_key and not after_key.startswith(RECORD_KEY_PREFIX))
    ):
        raise InvalidInput(_BAD_CURSOR)
    return ScanPosition(int(scan_cursor), after_key or None)
