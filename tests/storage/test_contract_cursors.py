"""Contract: ``CursorStore`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

import asyncio

from app.storage.ports import Storage


async def test_unset_cursor_is_none(storage: Storage) -> None:
    assert await storage.cursors.get("orders-poller") is None


async def test_advance_is_compare_and_set(storage: Storage) -> None:
    cursors = storage.cursors
    first = "2024-05-01T12:00:00.000Z|ü"

    assert await cursors.advance("orders-poller", expected=None, value=first) is True
    assert await cursors.get("orders-poller") == first

    assert await cursors.advance("orders-poller", expected=None, value="v-unset") is False
    assert await cursors.advance("orders-poller", expected="wrong", value="v-wrong") is False
    assert await cursors.advance("orders-poller", expected="2024-05-01T12:00:00.000Z", value="v-prefix") is False
    assert await cursors.get("orders-poller") == first

    assert await cursors.advance("orders-poller", expected=first, value="v2") is True
    assert await cursors.get("orders-poller") == "v2"
    assert await cursors.advance("orders-poller", expected=first, value="v3") is False, "a stale expected value"
    assert await cursors.get("orders-poller") == "v2"


async def test_cursors_are_independent_by_name(storage: Storage) -> None:
    cursors = storage.cursors
    await cursors.advance("orders", expected=None, value="o1")

    assert await cursors.get("customers") is None
    assert await cursors.advance("customers", expected=None, value="c1") is True
    assert await cursors.advance("customers", expected="o1", value="c2") is False
    assert (await cursors.get("orders"), await cursors.get("customers")) == ("o1", "c1")


async def test_concurrent_advances_from_one_expected_value_have_one_winner(storage: Storage) -> None:
    cursors = storage.cursors
    await cursors.advance("orders", expected=None, value="start")

    won = await asyncio.gather(*(cursors.advance("orders", expected="start", value=f"p{n}") for n in range(20)))

    assert sum(won) == 1, f"{sum(won)} pollers moved the cursor from the same value"
    assert await cursors.get("orders") == f"p{won.index(True)}"


async def test_concurrent_first_advances_have_one_winner(storage: Storage) -> None:
    cursors = storage.cursors

    won = await asyncio.gather(*(cursors.advance("orders", expected=None, value=f"p{n}") for n in range(20)))

    assert sum(won) == 1, f"{sum(won)} pollers set the unset cursor"
    assert await cursors.get("orders") == f"p{won.index(True)}"
