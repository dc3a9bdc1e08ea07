"""An import-sized batch: ``put_many`` of 10,000 links and a full ``scan`` of them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from app.storage.ports import Link
from app.storage.redis_backend import RedisStorage

pytestmark = pytest.mark.integration

TOTAL = 10_000
AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def links() -> list[Link]:
    kinds = ("ticket", "process", "chat")
    return [
        Link(
            kind=kinds[number % 3],
            reference=f"R-{number}",
            order_id=f"order-{number % 2500}",
            order_number=f"DE-{number % 2500}",
            customer_id=None if number % 4 == 0 else f"customer-{number % 1000}",
            store="de-store",
            linked_by=f"agent-{number % 40}",
            linked_at=AT + timedelta(milliseconds=number),
        )
        for number in range(TOTAL)
    ]


async def test_put_many_of_ten_thousand_links_then_a_full_scan(store: RedisStorage) -> None:
    batch = links()

    started = time.perf_counter()
    changed = await store.links.put_many(batch)
    put_seconds = time.perf_counter() - started

    started = time.perf_counter()
    scanned: list[Link] = []
    after: tuple[str, str] | None = None
    for _ in range(TOTAL // 1000 + 2):
        page = await store.links.scan(after=after, limit=1000)
        if not page:
            break
        scanned += page
        after = (page[-1].kind, page[-1].reference)
    scan_seconds = time.perf_counter() - started
    print(f"put_many({TOTAL}): {put_seconds:.2f} s; full scan in pages of 1000: {scan_seconds:.2f} s")

    assert changed == TOTAL
    assert await store.links.count() == TOTAL
    assert len(scanned) == TOTAL
    keys = [(link.kind, link.reference) for link in scanned]
    assert keys == sorted({(link.kind, link.reference) for link in batch})
    assert scanned == sorted(batch, key=lambda link: (link.kind, link.reference))
    assert len(await store.links.find_by_order("order-7")) == 4
    assert len(await store.links.find_by_customer("customer-7")) == 10
    assert await store.links.put_many(batch) == 0, "re-importing the same links changes nothing"
    # Generous bounds: they catch a round trip per link, not a slow machine.
    assert put_seconds < 20
    assert scan_seconds < 10
