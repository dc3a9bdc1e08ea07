"""What the contract suite cannot see from outside: the storage ``clock`` drives delays and the dedupe
window (leases stay Redis real time), delivery-scoped entry ids, the audit scan budget, keys that
cannot be told apart, and the queue's bookkeeping staying consistent with the stream's PEL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
import redis.asyncio

import app.storage.redis_backend
from app.errors import InvalidInputError, StorageUnavailableError
from app.storage.ports import AuditRecord, Link, NewEvent, QueueStats
from app.storage.redis_backend import RedisStorage
from tests.storage.redis.conftest import OpenRedis
from tests.storage.redis.support import FakeClock
from tests.support import queue_counts

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def event(number: int) -> NewEvent:
    return NewEvent(message_id=f"msg-{number}", key="order-1", payload=b"p")


async def test_release_delays_follow_the_storage_clock(open_redis: OpenRedis) -> None:
    clock = FakeClock()
    queue = (await open_redis(clock=clock)).queue
    await queue.enqueue(event(1))
    [first] = await queue.receive("c1")
    assert first.enqueued_at == clock.now

    assert await queue.release(first.entry_id, delay_seconds=3600, reason="rate limited")
    clock.advance(3599)
    assert await queue.receive("c1") == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=1, in_flight=0, dead=0)

    clock.advance(1)
    assert queue_counts(await queue.stats()) == QueueStats(ready=1, delayed=0, in_flight=0, dead=0)
    [again] = await queue.receive("c2")
    assert (again.message_id, again.attempt, again.enqueued_at) == ("msg-1", 2, first.enqueued_at)


async def test_the_dedupe_window_follows_the_storage_clock_and_a_replay_ignores_it(open_redis: OpenRedis) -> None:
    clock = FakeClock()
    queue = (await open_redis(clock=clock, dedupe_window_seconds=600)).queue
    assert not (await queue.enqueue(event(1))).duplicate

    clock.advance(599)
    assert (await queue.enqueue(event(1))).duplicate
    [delivery] = await queue.receive("c1")
    assert await queue.dead_letter(delivery.entry_id, reason="gave up")
    [dead] = await queue.dead_letters()
    assert dead.dead_at == clock.now
    assert await queue.replay(dead.id) is not None, "a replay is deliberate: the window does not apply"

    clock.advance(1)
    assert not (await queue.enqueue(event(1))).duplicate
    assert [d.message_id for d in await queue.receive("c1")] == ["msg-1", "msg-1"]


async def test_leases_run_on_redis_time_not_on_the_storage_clock(open_redis: OpenRedis) -> None:
    clock = FakeClock()
    queue = (await open_redis(clock=clock)).queue
    await queue.enqueue(event(1))
    await queue.enqueue(event(2))
    [held] = await queue.receive("c1", max_count=1, lease_seconds=60)
    [short] = await queue.receive("c1", max_count=1, lease_seconds=0.3)

    clock.advance(86_400)  # far past both leases on the storage clock
    await asyncio.sleep(0.4)  # past the short one on Redis server time, far from the long one

    [taken] = await queue.receive("c2", max_count=10, lease_seconds=30)
    assert (taken.message_id, taken.attempt) == ("msg-2", 2), "a fake clock must not expire a real lease"
    assert await queue.ack(short.entry_id) is False
    assert await queue.ack(held.entry_id) is True


async def test_a_delivery_id_names_the_delivery_and_the_enqueue_id_the_entry(store: RedisStorage) -> None:
    queue = store.queue
    entry_id = (await queue.enqueue(event(1))).entry_id
    assert entry_id is not None
    [first] = await queue.receive("c1")
    assert first.entry_id == f"{entry_id}:1"
    assert await queue.ack(entry_id) is False, "the bare entry id is not a delivery"
    assert await queue.release(first.entry_id, delay_seconds=0, reason="again")
    [second] = await queue.receive("c1")

    assert second.entry_id == f"{entry_id}:2"
    assert await queue.ack(first.entry_id) is False, "released: the first delivery settles nothing any more"
    assert await queue.ack(second.entry_id) is True


async def test_the_queue_bookkeeping_matches_the_consumer_groups_pending_list(
    open_redis: OpenRedis, redis_url: str
) -> None:
    clock = FakeClock()
    storage = await open_redis(clock=clock)
    queue = storage.queue
    for number in range(8):
        await queue.enqueue(event(number))
    # Long leases for the four settled below (a settle needs a live lease), a short one for the fifth.
    a, b, c, d = await queue.receive("c1", max_count=4, lease_seconds=60)
    await queue.receive("c1", max_count=1, lease_seconds=0.2)
    assert await queue.ack(a.entry_id)
    assert await queue.release(b.entry_id, delay_seconds=60, reason="later")
    assert await queue.release(c.entry_id, delay_seconds=0, reason="now")
    assert await queue.dead_letter(d.entry_id, reason="bad")
    await asyncio.sleep(0.3)  # the fifth lease runs out on Redis server time

    stats = await queue.stats()
    assert queue_counts(stats) == QueueStats(ready=3 + 1, delayed=1, in_flight=1, dead=1)
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = storage.keys
        pending = (await client.xpending(keys.queue_stream, "pushers"))["pending"]
        leases = await client.zcard(keys.queue_leases)
        delayed = await client.zcard(keys.queue_delayed)
        length = await client.xlen(keys.queue_stream)
    finally:
        await client.aclose()
    assert pending == leases + delayed == stats.in_flight + stats.delayed + 1, "released entries stay pending"
    assert length == pending + 3, "acked and dead-lettered entries are gone from the stream"


async def test_a_kind_with_nul_is_refused_because_it_would_collide(store: RedisStorage) -> None:
    def link(kind: str, reference: str) -> Link:
        return Link(kind=kind, reference=reference, linked_by="agent", linked_at=AT)

    await store.links.put(link("a", "b\0c"))
    with pytest.raises(InvalidInputError, match="kind"):
        await store.links.put(link("a\0b", "c"))
    with pytest.raises(InvalidInputError, match="kind"):
        await store.links.put_many([link("ticket", "1"), link("a\0b", "c")])
    assert await store.links.get("a\0b", "c") is None
    assert await store.links.delete("a\0b", "c") is False
    assert await store.links.count() == 1, "put_many checks the whole batch before writing any of it"


async def test_an_audit_query_that_would_scan_past_its_budget_says_so(
    open_redis: OpenRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.storage.redis_backend, "AUDIT_SCAN_BUDGET", 1000)
    audit = (await open_redis()).audit
    for number in range(1100):
        subject = "needle" if number == 0 else "agent"
        await audit.append(
            AuditRecord(at=AT, subject=subject, action="read", resource_type="order", resource_id=str(number))
        )

    assert len(await audit.query(subject="agent", limit=1000)) == 1000
    with pytest.raises(StorageUnavailableError, match="scan budget"):
        await audit.query(subject="needle")
    # Paging further back (as the message says) brings the rest of the log within one budget.
    older = (await audit.query(limit=200))[-1]
    [needle] = await audit.query(subject="needle", before=older.id)
    assert needle.resource_id == "0"
