"""Everything time-related follows the injected clock: leases, delays, the dedupe window, TTLs."""

from __future__ import annotations

from datetime import timedelta

from app.storage.ports import AuditRecord, NewEvent, QueueStats, Reservation
from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.conftest import Opener
from tests.storage.sqlite.helpers import START, FakeClock
from tests.support import queue_counts


def event(n: int) -> NewEvent:
    return NewEvent(message_id=f"m-{n}", key="order-1", payload=b"%d" % n)


async def test_leases_and_delays_run_on_the_clock(store: SqliteStorage, clock: FakeClock) -> None:
    queue = store.queue
    await queue.enqueue(event(1))
    [first] = await queue.receive("c1", lease_seconds=30)
    assert first.enqueued_at == START

    clock.advance(29.999)
    assert await queue.receive("c2") == []
    clock.advance(0.001)
    [second] = await queue.receive("c2", lease_seconds=30)
    assert second.attempt == 2

    assert await queue.release(second.entry_id, delay_seconds=60, reason="rate limited")
    clock.advance(59.999)
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=1, in_flight=0, dead=0)
    assert await queue.receive("c3") == []
    clock.advance(0.001)
    assert queue_counts(await queue.stats()) == QueueStats(ready=1, delayed=0, in_flight=0, dead=0)
    [third] = await queue.receive("c3")
    assert third.attempt == 3

    clock.advance(5)
    assert await queue.dead_letter(third.entry_id, reason="gave up")
    [dead] = await queue.dead_letters()
    assert (dead.enqueued_at, dead.dead_at, dead.attempts) == (START, clock.now, 3)


async def test_the_dedupe_window_runs_on_the_clock(opener: Opener, clock: FakeClock) -> None:
    storage = await opener(dedupe_window_seconds=3600)
    assert not (await storage.queue.enqueue(event(1))).duplicate
    clock.advance(3599.999)
    assert (await storage.queue.enqueue(event(1))).duplicate, "the window counts from the first enqueue"
    clock.advance(0.001)
    assert not (await storage.queue.enqueue(event(1))).duplicate
    assert (await storage.queue.enqueue(event(1))).duplicate


async def test_idempotency_leases_and_ttls_run_on_the_clock(store: SqliteStorage, clock: FakeClock) -> None:
    keys = store.idempotency
    assert (await keys.reserve("k", owner="a", lease_seconds=10, ttl_seconds=100)).state == "acquired"
    clock.advance(9.999)
    assert (await keys.reserve("k", owner="b", lease_seconds=10, ttl_seconds=100)).state == "busy"
    clock.advance(0.001)
    # a's lease ran out: b takes over, and a can no longer complete or abandon it.
    assert (await keys.reserve("k", owner="b", lease_seconds=10, ttl_seconds=100)).state == "acquired"
    assert await keys.complete("k", owner="a", result=b"late") is False
    assert await keys.abandon("k", owner="a") is False
    assert await keys.complete("k", owner="b", result=b"done by b") is True

    clock.advance(99.999)
    assert await keys.reserve("k", owner="c", lease_seconds=10, ttl_seconds=100) == Reservation("done", b"done by b")
    clock.advance(0.001)
    assert (await keys.reserve("k", owner="c", lease_seconds=10, ttl_seconds=100)).state == "acquired"


async def test_a_lease_that_ran_out_unclaimed_is_lost_to_its_owner(store: SqliteStorage, clock: FakeClock) -> None:
    keys = store.idempotency
    await keys.reserve("k", owner="a", lease_seconds=10, ttl_seconds=100)
    clock.advance(10)

    assert await keys.complete("k", owner="a") is False
    assert (await keys.reserve("k", owner="b", lease_seconds=10, ttl_seconds=100)).state == "acquired"


async def test_audit_windows_are_half_open_on_stored_milliseconds(store: SqliteStorage) -> None:
    for offset_ms in (0, 1, 2):
        await store.audit.append(
            AuditRecord(
                at=START + timedelta(milliseconds=offset_ms),
                subject="agent",
                action="read.unmasked",
                resource_type="order",
                resource_id=f"o-{offset_ms}",
            )
        )
    window = await store.audit.query(since=START + timedelta(milliseconds=1), until=START + timedelta(milliseconds=2))
    assert [record.resource_id for record in window] == ["o-1"]
    # A bound between two milliseconds still includes what happened before it.
    window = await store.audit.query(until=START + timedelta(microseconds=1500))
    assert [record.resource_id for record in window] == ["o-1", "o-0"]
