"""Contract: the ``Storage`` bundle (app/storage/ports.py) on every backend: readiness, identity,
durability across re-opening, and one store seen through two handles (two processes/replicas)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.storage.ports import AuditRecord, Link, NewEvent, Reservation, Storage

if TYPE_CHECKING:
    from tests.storage.conftest import BackendTarget, StorageFactory

AT = datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC)


def link(reference: str, order_id: str) -> Link:
    return Link(kind="ticket", reference=reference, order_id=order_id, linked_by="agent-a", linked_at=AT)


async def test_ping_answers_on_a_healthy_backend(storage: Storage) -> None:
    await storage.ping()  # raises StorageUnavailableError when not ready


async def test_backend_names_itself(storage: Storage, backend: BackendTarget) -> None:
    assert storage.backend == backend.name


async def test_data_survives_closing_and_reopening(storage_factory: StorageFactory) -> None:
    first = await storage_factory.open()
    stored, _ = await first.links.put(link("1", "order-1"))
    await first.queue.enqueue(NewEvent(message_id="msg-1", key="order-1", payload=b"p"))
    await first.cursors.advance("orders", expected=None, value="c1")
    audit_id = await first.audit.append(
        AuditRecord(at=AT, subject="agent-a", action="link.put", resource_type="link", resource_id="ticket/1")
    )
    await first.idempotency.reserve("k", owner="w1", lease_seconds=60, ttl_seconds=60)
    await first.idempotency.complete("k", owner="w1", result=b"done")
    await storage_factory.close(first)

    second = await storage_factory.open()

    assert await second.links.get("ticket", "1") == stored
    assert await second.links.find_by_order("order-1") == [stored]
    assert await second.cursors.get("orders") == "c1"
    assert [item.id for item in await second.audit.query()] == [audit_id]
    assert await second.idempotency.reserve("k", owner="w2", lease_seconds=60, ttl_seconds=60) == Reservation(
        "done", b"done"
    )
    assert (await second.queue.enqueue(NewEvent(message_id="msg-1", key="order-1", payload=b"p"))).duplicate is True
    [delivery] = await second.queue.receive("c1", max_count=10, lease_seconds=30)
    assert (delivery.message_id, delivery.payload, delivery.attempt) == ("msg-1", b"p", 1)


async def test_two_handles_on_one_store_see_each_others_writes(
    storage: Storage, storage_factory: StorageFactory
) -> None:
    peer = await storage_factory.open()

    stored, _ = await storage.links.put(link("1", "order-1"))
    assert await peer.links.get("ticket", "1") == stored
    assert (await peer.links.put(link("1", "order-1")))[1] is False
    assert await peer.links.delete("ticket", "1") is True
    assert await storage.links.get("ticket", "1") is None

    await storage.audit.append(
        AuditRecord(at=AT, subject="agent-a", action="read.unmasked", resource_type="order", resource_id="o")
    )
    assert len(await peer.audit.query()) == 1


async def test_cas_and_reservations_hold_across_handles(storage: Storage, storage_factory: StorageFactory) -> None:
    peer = await storage_factory.open()
    handles = [storage, peer]

    won = await asyncio.gather(
        *(handles[n % 2].cursors.advance("orders", expected=None, value=f"p{n}") for n in range(10))
    )
    assert sum(won) == 1, f"{sum(won)} pollers on two handles set the unset cursor"

    answers = await asyncio.gather(
        *(handles[n % 2].idempotency.reserve("k", owner=f"w{n}", lease_seconds=60, ttl_seconds=60) for n in range(10))
    )
    assert sorted(answer.state for answer in answers) == ["acquired"] + ["busy"] * 9

    results = await asyncio.gather(*(handles[n % 2].links.put(link("1", f"order-{n}")) for n in range(20)))
    final = await storage.links.get("ticket", "1")
    assert final is not None
    assert final.version == 20
    assert sorted(stored.version for stored, _ in results) == list(range(1, 21))
    assert final.order_id is not None
    assert await peer.links.find_by_order(final.order_id) == [final]
    leftovers = [
        n for n in range(20) if f"order-{n}" != final.order_id and await peer.links.find_by_order(f"order-{n}")
    ]
    assert leftovers == [], f"index entries left by losing puts on two handles: {leftovers}"
