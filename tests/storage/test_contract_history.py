"""Contract: ``PushHistory`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage.ports import PushRecord, Storage

if TYPE_CHECKING:
    from tests.storage.conftest import StorageFactory

BASE = datetime(2024, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)


def entry(number: int, *, ticket: str = "100042", key: str | None = None, outcome: str = "delivered") -> PushRecord:
    dead = outcome == "dead-lettered"
    return PushRecord(
        ticket_id=ticket,
        key=key or f"k-{number}",
        order_id="order-1",
        order_number="DE-1001",
        store="de-store",
        change_kind="shipment-state",
        state="Shipped",
        write="memo",
        text=f"Order DE-1001 has shipped ({number}). Größe ✓",
        outcome="dead-lettered" if dead else "delivered",
        at=BASE + timedelta(seconds=number),
        attempts=number,
        dead_letter_id="00000000000000000007" if dead else None,
        reason="novomind does not know the ticket" if dead else None,
        message_id=f"msg-{number}",
    )


def without_id(records: list[PushRecord]) -> list[PushRecord]:
    return [msgspec.structs.replace(r, id="") for r in records]


async def test_unknown_ticket_has_no_history(storage: Storage) -> None:
    assert await storage.history.for_ticket("nobody") == []


async def test_entries_come_back_newest_first_whole(storage: Storage) -> None:
    history = storage.history
    assert await history.record([entry(1)], keep=50) == 1
    assert await history.record([entry(2, outcome="dead-lettered"), entry(3)], keep=50) == 2

    found = await history.for_ticket("100042")

    assert without_id(found) == [entry(3), entry(2, outcome="dead-lettered"), entry(1)]
    ids = [r.id for r in found]
    assert ids == sorted(ids, reverse=True), "ids sort in record order, as strings"
    assert len(set(ids)) == 3


async def test_recording_a_key_twice_keeps_the_first_entry(storage: Storage) -> None:
    history = storage.history
    first = entry(1, key="push:abc")
    assert await history.record([first], keep=50) == 1

    again = msgspec.structs.replace(first, attempts=9, at=BASE + timedelta(hours=1))
    assert await history.record([again], keep=50) == 0, "a re-run after a crash must not add an entry"
    assert await history.record([again, again], keep=50) == 0

    assert without_id(await history.for_ticket("100042")) == [first]


async def test_the_same_key_on_two_tickets_is_two_entries(storage: Storage) -> None:
    # One memo to a process that two tickets belong to: each ticket's history shows it.
    history = storage.history
    assert await history.record([entry(1, key="memo-1"), entry(1, key="memo-1", ticket="100043")], keep=50) == 2

    assert without_id(await history.for_ticket("100042")) == [entry(1, key="memo-1")]
    assert without_id(await history.for_ticket("100043")) == [entry(1, key="memo-1", ticket="100043")]


async def test_each_ticket_keeps_only_its_newest_entries(storage: Storage) -> None:
    history = storage.history
    for number in range(1, 8):
        await history.record([entry(number)], keep=3)
    await history.record([entry(1, ticket="other")], keep=3)

    assert without_id(await history.for_ticket("100042")) == [entry(7), entry(6), entry(5)]
    assert without_id(await history.for_ticket("other")) == [entry(1, ticket="other")]

    # A lower bound later trims at the next write; a trimmed key is gone, not hidden.
    await history.record([entry(8)], keep=1)
    assert without_id(await history.for_ticket("100042")) == [entry(8)]


async def test_paging_with_after_visits_every_entry_once(storage: Storage) -> None:
    history = storage.history
    await history.record([entry(n) for n in range(1, 8)], keep=50)

    seen: list[PushRecord] = []
    after: str | None = None
    while True:
        page = await history.for_ticket("100042", limit=3, after=after)
        seen += page
        if len(page) < 3:
            break
        after = page[-1].id

    assert without_id(seen) == [entry(n) for n in range(7, 0, -1)]


async def test_after_that_is_no_id_of_ours_finds_nothing_older_than_nothing(storage: Storage) -> None:
    history = storage.history
    await history.record([entry(1)], keep=50)
    [only] = await history.for_ticket("100042")

    assert await history.for_ticket("100042", after=only.id) == []
    assert await history.for_ticket("100042", limit=0) == []


async def test_concurrent_records_of_one_key_store_it_once(storage: Storage, storage_factory: StorageFactory) -> None:
    peer = await storage_factory.open()
    added = await asyncio.gather(
        *(store.history.record([entry(1, key="k")], keep=50) for store in (storage, peer) for _ in range(5))
    )

    assert sum(added) == 1
    assert len(await peer.history.for_ticket("100042")) == 1


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    writes=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 6)), min_size=1, max_size=25),
    keep=st.integers(1, 4),
)
async def test_history_is_the_newest_distinct_keys_per_ticket(
    storage_factory: StorageFactory, writes: list[tuple[str, int]], keep: int
) -> None:
    async with storage_factory.fresh() as store:
        expected: dict[str, list[str]] = {"a": [], "b": []}
        for ticket, number in writes:
            await store.history.record([entry(number, ticket=ticket)], keep=keep)
            kept = expected[ticket]
            if f"k-{number}" not in kept:
                kept.insert(0, f"k-{number}")
            del kept[keep:]
        for ticket, keys in expected.items():
            assert [r.key for r in await store.history.for_ticket(ticket)] == keys
