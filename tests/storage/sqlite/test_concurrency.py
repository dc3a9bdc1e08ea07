"""Many concurrent async callers in one process: nothing lost, nothing doubled, indexes agree."""

from __future__ import annotations

import asyncio

from app.storage.ports import NewEvent
from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.conftest import Opener
from tests.storage.sqlite.helpers import link

REFS = 100


async def test_concurrent_puts_to_one_reference_leave_one_fully_indexed_winner(store: SqliteStorage) -> None:
    writes = [
        store.links.put(link(f"t-{n}", order_id=f"order-{side}-{n}", customer_id=f"customer-{side}-{n}"))
        for n in range(REFS)
        for side in ("a", "b")
    ]
    reads = [store.links.get("ticket", f"t-{n}") for n in range(REFS)]

    puts, _ = await asyncio.gather(asyncio.gather(*writes), asyncio.gather(*reads))

    assert all(changed for _, changed in puts)
    assert await store.links.count() == REFS
    for n in range(REFS):
        final = await store.links.get("ticket", f"t-{n}")
        assert final is not None
        assert final.version == 2, "a concurrent put was lost (read-modify-write raced)"
        side = final.order_id.split("-")[1] if final.order_id else "?"
        assert final.customer_id == f"customer-{side}-{n}", "order and customer come from different puts"
        other = "b" if side == "a" else "a"
        assert await store.links.find_by_order(f"order-{side}-{n}") == [final]
        assert await store.links.find_by_customer(f"customer-{side}-{n}") == [final]
        assert await store.links.find_by_order(f"order-{other}-{n}") == []
        assert await store.links.find_by_customer(f"customer-{other}-{n}") == []


async def test_concurrent_enqueuers_and_receivers_deliver_each_message_once(store: SqliteStorage) -> None:
    total = 300
    delivered: list[str] = []
    enqueued = asyncio.Event()

    async def enqueue_all() -> list[bool]:
        results = await asyncio.gather(
            *(
                store.queue.enqueue(NewEvent(message_id=f"m-{n % total}", key=f"k-{n % 11}", payload=b"%d" % n))
                for n in range(total + 100)  # the last 100 repeat message ids: duplicates
            )
        )
        enqueued.set()
        return [result.duplicate for result in results]

    async def consume(name: str) -> None:
        while True:
            batch = await store.queue.receive(name, max_count=4, lease_seconds=60)
            if not batch:
                if enqueued.is_set() and (await store.queue.stats()).ready == 0:
                    return
                await asyncio.sleep(0)
                continue
            for delivery in batch:
                assert delivery.attempt == 1
                delivered.append(delivery.message_id)
                assert await store.queue.ack(delivery.entry_id)

    async with asyncio.timeout(60):
        consumers = asyncio.gather(*(consume(f"c{n}") for n in range(8)))
        duplicates = await enqueue_all()
        await consumers

    assert sum(duplicates) == 100
    assert sorted(delivered) == sorted(f"m-{n}" for n in range(total))
    stats = await store.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)


async def test_concurrent_reservations_of_one_key_acquire_it_once(store: SqliteStorage) -> None:
    reservations = await asyncio.gather(
        *(
            store.idempotency.reserve("memo:ticket-1", owner=f"worker-{n}", lease_seconds=30, ttl_seconds=3600)
            for n in range(50)
        )
    )

    states = sorted(reservation.state for reservation in reservations)
    assert states == ["acquired"] + ["busy"] * 49


async def test_concurrent_compare_and_set_moves_a_cursor_once_per_step(store: SqliteStorage) -> None:
    expected: str | None = None
    for step in range(3):
        moved = await asyncio.gather(
            *(store.cursors.advance("poller", expected=expected, value=f"{step}-{n}") for n in range(30))
        )
        assert sum(moved) == 1
        expected = await store.cursors.get("poller")
        assert expected is not None
        assert expected.startswith(f"{step}-")


async def test_two_handles_in_one_process_share_the_file(opener: Opener) -> None:
    first, second = await opener(), await opener()

    puts = await asyncio.gather(*(handle.links.put(link("shared")) for handle in (first, second) for _ in range(5)))

    assert sum(changed for _, changed in puts) == 1
    assert await second.links.get("ticket", "shared") == await first.links.get("ticket", "shared")
