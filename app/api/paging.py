"""The one paging model of every list: ``limit`` (1–100) and an opaque ``cursor``; answers carry
``next``, the cursor of the following page, or ``null`` on the last page.

A cursor is the list's own position (a dead letter's id, an audit record's id, or an offset into
a list the gateway assembles) wrapped so that clients treat it as opaque and a cursor of one list
is refused by another.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Annotated, Final, TypeVar

from litestar.params import Parameter

from app.errors import InvalidInputError

__all__ = ["CursorQuery", "LimitQuery", "decode_cursor", "encode_cursor", "page_of"]

T = TypeVar("T")

MAX_OFFSET: Final = 500
"""Lists assembled from commercetools queries go this deep at most (commercetools' own page limit)."""

LimitQuery = Annotated[int, Parameter(ge=1, le=100, description="At most this many results (1 to 100)")]
CursorQuery = Annotated[
    str | None,
    Parameter(
        max_length=200,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Page: `next` of the previous page; absent for the first page",
    ),
]


def encode_cursor(kind: str, position: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    found, _, position = text.partition(":")
    if found != kind or not position:
        raise InvalidInputError("cursor", "is not a cursor this list gave out; pass `next` of its previous page")
    return position


def decode_offset(kind: str, cursor: str | None) -> int:
    position = decode_cursor(kind, cursor)
    if position is None:
        return 0
    if not position.isdigit() or int(position) > MAX_OFFSET:
        raise InvalidInputError("cursor", "is not a cursor this list gave out; pass `next` of its previous page")
    return int(position)


def next_offset(kind: str, offset: int, limit: int, more: bool) -> str | None:
    following = offset + limit
    return encode_cursor(kind, following) if more and following < MAX_OFFSET else None


def page_of(kind: str, items: Sequence[T], limit: int, cursor: str | None) -> tuple[list[T], str | None]:
    """One page of a list the gateway holds whole (a short one: an order's links), and ``next``."""
    offset = decode_offset(kind, cursor)
    return list(items[offset : offset + limit]), next_offset(kind, offset, limit, len(items) > offset + limit)
