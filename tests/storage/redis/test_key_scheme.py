"""Every key the backend creates starts with its namespace and carries its concern's hash tag, so all
keys of a concern share one Redis Cluster slot (what its multi-key scripts need)."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
import redis.asyncio
from redis.crc import key_slot

from app.storage.ports import AuditRecord, Link, NewEvent, PushRecord
from app.storage.redis_backend import RedisStorage
from app.storage.redis_store.keys import CONCERNS, KeyScheme
from tests.storage.redis.conftest import OpenRedis

pytestmark = pytest.mark.integration

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


async def full_run(storage: RedisStorage) -> None:
    """Touch every structure each store can create."""
    for number in range(3):
        await storage.links.put(
            Link(
                kind="ticket",
                reference=f"T-{number}",
                order_id=f"order-{number % 2}",
                customer_id=f"customer-{number}",
                linked_by="agent",
                linked_at=AT,
            )
        )
    await storage.links.put_many(
        [Link(kind="process", reference="P-1", order_id="order-9", linked_by="agent", linked_at=AT)]
    )
    await storage.links.delete("ticket", "T-2")

    queue = storage.queue
    for number in range(5):
        await queue.enqueue(NewEvent(message_id=f"msg-{number}", key="order-1", payload=b"p"))
    # Long leases for the entries settled below (a settle needs a live lease), short ones for the two
    # left to run out on the server's clock.
    acked, delayed, dead = await queue.receive("c1", max_count=3, lease_seconds=60)
    expiring, _ = await queue.receive("c1", max_count=2, lease_seconds=0.1)
    assert await queue.ack(acked.entry_id)
    assert await queue.release(delayed.entry_id, delay_seconds=3600, reason="later")
    assert await queue.dead_letter(dead.entry_id, reason="bad")
    await asyncio.sleep(0.2)  # Redis server time passes the short leases' end
    assert [delivery.message_id for delivery in await queue.receive("c2", max_count=1)] == [expiring.message_id]
    await queue.stats()
    [letter] = await queue.dead_letters()
    assert await queue.replay(letter.id)

    await storage.idempotency.reserve("push:1", owner="w1", lease_seconds=60, ttl_seconds=60)
    await storage.idempotency.complete("push:1", owner="w1", result=b"r")
    await storage.idempotency.reserve("push:2", owner="w1", lease_seconds=60, ttl_seconds=60)
    entry = await storage.gates.enter("order:o-1", lease_seconds=60)
    await storage.gates.leave("order:o-1", ticket=entry.ticket, mark="1@1")
    await storage.cursors.advance("orders", expected=None, value="c1")
    await storage.audit.append(
        AuditRecord(at=AT, subject="agent", action="read.unmasked", resource_type="order", resource_id="o-1")
    )
    await storage.history.record(
        [
            PushRecord(
                ticket_id="{t}-1",
                key="push:1",
                order_id="o-1",
                change_kind="snapshot",
                write="memo",
                outcome="delivered",
                at=AT,
                attempts=1,
            )
        ],
        keep=5,
    )


async def test_every_key_carries_its_concerns_hash_tag(open_redis: OpenRedis, namespace: str, redis_url: str) -> None:
    await full_run(await open_redis())

    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*", count=1000)]
        strays = [key async for key in client.scan_iter(match=f"*{namespace}*", count=1000) if key not in keys]
    finally:
        await client.aclose()

    assert strays == [], "keys that mention the namespace but do not start with it"
    shape = re.compile(rb"^" + re.escape(namespace.encode()) + rb":\{(?P<concern>[a-z]+)\}:.")
    by_concern: dict[str, set[int]] = {}
    for key in keys:
        match = shape.match(key)
        assert match is not None, f"{key!r} does not follow <namespace>:{{<concern>}}:…"
        concern = match["concern"].decode()
        assert concern in CONCERNS, key
        by_concern.setdefault(concern, set()).add(key_slot(key))

    assert set(by_concern) == set(CONCERNS), "the full run should have created keys of every concern"
    for concern, slots in by_concern.items():
        assert slots == {key_slot(f"{{{concern}}}".encode())}, f"{concern} keys span slots {slots}"
    assert len(keys) >= 15, sorted(keys)


def test_key_builder_puts_the_tag_first_whatever_the_values() -> None:
    keys = KeyScheme("ctnm")
    built = [
        keys.link("ticket", "{evil}"),
        keys.links_by_order("{o}"),
        keys.links_by_customer("c}{"),
        keys.queue_dedupe("{m}"),
        keys.idempotency("{k}"),
        keys.cursor("{c}"),
        keys.link_all,
        keys.queue_stream,
        keys.audit_stream,
    ]
    for key in built:
        # Cluster hashes the first {...} only: values with braces later in the key change nothing.
        assert key.startswith("ctnm:{")
        assert key_slot(key.encode()) == key_slot(("{" + key.split("{", 1)[1].split("}", 1)[0] + "}").encode())


@pytest.mark.parametrize("bad", ["", "a{b}", "a:b", "with space", "x" * 65])
async def test_a_namespace_that_would_break_the_scheme_is_refused_at_open(bad: str, redis_url: str) -> None:
    with pytest.raises(ValueError, match="namespace"):
        await RedisStorage.open(redis_url, namespace=bad)
