"""How values are encoded in the file: UTC milliseconds, sortable zero-padded ids, delivery ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from app.storage.ports import AuditRecord, NewEvent
from app.storage.sqlite.engine import SEQ_MAX, format_seq, from_ms, parse_seq, seq_floor, to_ms
from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.helpers import START, FakeClock, link, raw

SEQS = st.integers(0, SEQ_MAX)
# Digits plus the characters just below and above them, where string order turns.
CURSORS = st.text(alphabet="0123456789/:a-Z~", max_size=24) | SEQS.map(format_seq)


@given(text=CURSORS, seq=SEQS)
@example(text="", seq=0)
@example(text="99999999999999999999", seq=SEQ_MAX)
@example(text="00000000000000000005x", seq=5)
@example(text="0000000000000000000", seq=0)
def test_seq_floor_agrees_with_string_order(text: str, seq: int) -> None:
    assert (format_seq(seq) <= text) == (seq <= seq_floor(text))


@given(seq=SEQS)
def test_ids_round_trip_and_sort_like_their_numbers(seq: int) -> None:
    assert parse_seq(format_seq(seq)) == seq
    assert format_seq(seq) < format_seq(seq + 1)


@pytest.mark.parametrize("text", ["", "1", "0000000000000000000x", "99999999999999999999", " 00000000000000000001"])
def test_strings_that_are_not_our_ids_name_nothing(text: str) -> None:
    assert parse_seq(text) is None


def test_times_are_utc_milliseconds_truncated() -> None:
    local = datetime(2030, 1, 1, 12, 0, 0, 123999, tzinfo=timezone(timedelta(hours=2)))
    ms = to_ms(local)
    assert from_ms(ms) == datetime(2030, 1, 1, 10, 0, 0, 123000, tzinfo=UTC)
    assert from_ms(ms).utcoffset() == timedelta(0)
    assert to_ms(datetime(1969, 12, 31, 23, 59, 59, 999500, tzinfo=UTC)) == -1
    with pytest.raises(ValueError, match="timezone-aware"):
        to_ms(datetime(2030, 1, 1))  # noqa: DTZ001 - the naive datetime is the point


async def test_link_times_are_stored_as_utc_milliseconds(store: SqliteStorage, db_path: Path) -> None:
    at = datetime(2030, 6, 1, 14, 0, 0, 456789, tzinfo=timezone(timedelta(hours=-5)))

    stored, _ = await store.links.put(msgspec.structs.replace(link("t-1"), linked_at=at))

    expected = datetime(2030, 6, 1, 19, 0, 0, 456000, tzinfo=UTC)
    assert stored.linked_at == expected
    assert await store.links.get("ticket", "t-1") == stored
    with raw(db_path) as conn:
        assert conn.execute("SELECT linked_at_ms FROM links").fetchall() == [(to_ms(expected),)]


async def test_dead_letter_and_audit_ids_are_zero_padded_sequence_numbers(store: SqliteStorage) -> None:
    for n in range(3):
        await store.queue.enqueue(NewEvent(message_id=f"m-{n}", key="k", payload=b""))
    for delivery in await store.queue.receive("c1", max_count=3):
        await store.queue.dead_letter(delivery.entry_id, reason="test")
    record = AuditRecord(at=START, subject="agent", action="read.unmasked", resource_type="order", resource_id="o-1")
    audit_ids = [await store.audit.append(record) for _ in range(3)]

    dead_ids = [dead.id for dead in await store.queue.dead_letters()]

    assert dead_ids == [format_seq(n) for n in (1, 2, 3)]
    assert audit_ids == [format_seq(n) for n in (1, 2, 3)]


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("", [1, 2, 3]),
        ("0", [1, 2, 3]),
        ("00000000000000000001", [2, 3]),
        ("00000000000000000001x", [2, 3]),
        ("00000000000000000002", [3]),
        ("0000000000000000000/", [1, 2, 3]),
        ("0000000000000000000~", []),
        ("not-an-id", []),
        ("99999999999999999999", []),
    ],
)
async def test_paging_cursors_compare_as_strings_whatever_the_caller_sends(
    store: SqliteStorage, after: str, expected: list[int]
) -> None:
    for n in range(3):
        await store.queue.enqueue(NewEvent(message_id=f"m-{n}", key="k", payload=b""))
    for delivery in await store.queue.receive("c1", max_count=3):
        await store.queue.dead_letter(delivery.entry_id, reason="test")
    record = AuditRecord(at=START, subject="agent", action="read.unmasked", resource_type="order", resource_id="o-1")
    for _ in range(3):
        await store.audit.append(record)

    assert [dead.id for dead in await store.queue.dead_letters(after=after)] == [format_seq(n) for n in expected]
    below = [record.id for record in await store.audit.query(before=after)]
    assert below == [format_seq(n) for n in (3, 2, 1) if format_seq(n) < after]


async def test_deliveries_have_their_own_ids_so_a_stale_one_cannot_ack_a_redelivery(
    store: SqliteStorage, clock: FakeClock
) -> None:
    enqueued = await store.queue.enqueue(NewEvent(message_id="m-1", key="k", payload=b""))
    [first] = await store.queue.receive("c1", lease_seconds=10)
    clock.advance(11)
    [second] = await store.queue.receive("c2", lease_seconds=10)

    assert enqueued.entry_id is not None
    assert (first.entry_id, second.entry_id) == (f"{enqueued.entry_id}.1", f"{enqueued.entry_id}.2")
    assert await store.queue.ack(first.entry_id) is False
    assert await store.queue.ack(enqueued.entry_id) is False, "an entry id is not a delivery"
    assert await store.queue.ack(second.entry_id) is True
