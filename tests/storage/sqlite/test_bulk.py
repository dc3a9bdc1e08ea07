"""An import-sized batch: put_many of 10,000 links, then a full export scan."""

from __future__ import annotations

from app.storage.ports import Link
from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.helpers import link

TOTAL = 10_000


def batch() -> list[Link]:
    kinds = ("ticket", "process", "chat")
    return [
        link(f"{n:05d}", kind=kinds[n % 3], order_id=f"order-{n % 997}", customer_id=f"customer-{n % 101}")
        for n in range(TOTAL)
    ]


async def test_put_many_of_ten_thousand_links_then_a_full_scan(store: SqliteStorage) -> None:
    links = batch()

    assert await store.links.put_many(links) == TOTAL
    assert await store.links.count() == TOTAL

    seen: list[tuple[str, str]] = []
    after: tuple[str, str] | None = None
    while page := await store.links.scan(after=after, limit=1000):
        seen += [(found.kind, found.reference) for found in page]
        after = seen[-1]
    assert seen == sorted((item.kind, item.reference) for item in links)

    # The same batch again is a no-op, link by link.
    assert await store.links.put_many(links) == 0
    assert await store.links.count() == TOTAL
    assert len(await store.links.find_by_order("order-5")) == len(range(5, TOTAL, 997))
    assert len(await store.links.find_by_customer("customer-7")) == len(range(7, TOTAL, 101))
