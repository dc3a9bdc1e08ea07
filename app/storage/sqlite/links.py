"""Links on SQLite: one row per ``(kind, reference)``; the order and customer "indexes" are SQL
indexes on the row's own columns, so a put can never leave them disagreeing with the link."""

from __future__ import annotations

import sqlite3
from functools import partial
from typing import Any, Final

import msgspec

from app.storage.ports import Link
from app.storage.sqlite.engine import Database, from_ms, to_ms

__all__ = ["SqliteLinkStore"]

# Links per write transaction in put_many: big enough to amortise the commit, small enough that
# one batch holds the write lock (which other processes wait on) for only milliseconds.
_BATCH: Final = 500

_COLUMNS: Final = (
    "kind, reference, order_id, order_number, customer_id, process_id, store, linked_by, linked_at_ms, version"
)
_SELECT: Final = f"SELECT {_COLUMNS} FROM links"  # noqa: S608 - constant column list
_UPSERT: Final = f"""
    INSERT INTO links ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (kind, reference) DO UPDATE SET
        order_id = excluded.order_id,
        order_number = excluded.order_number,
        customer_id = excluded.customer_id,
        process_id = excluded.process_id,
        store = excluded.store,
        linked_by = excluded.linked_by,
        linked_at_ms = excluded.linked_at_ms,
        version = excluded.version
"""  # noqa: S608 - constant column list


def _row_to_link(row: Any) -> Link:
    kind, reference, order_id, order_number, customer_id, process_id, store, linked_by, linked_at_ms, version = row
    return Link(
        kind=kind,
        reference=reference,
        order_id=order_id,
        order_number=order_number,
        customer_id=customer_id,
        process_id=process_id,
        store=store,
        linked_by=linked_by,
        linked_at=from_ms(linked_at_ms),
        version=version,
    )


def _put(conn: sqlite3.Connection, link: Link) -> tuple[Link, bool]:
    """The one definition of put, shared by ``put`` and ``put_many``; runs inside a transaction."""
    rows = conn.execute(f"{_SELECT} WHERE kind = ? AND reference = ?", (link.kind, link.reference)).fetchall()
    existing = _row_to_link(rows[0]) if rows else None
    if existing is not None and existing.same_target(link):
        return existing, False
    linked_at_ms = to_ms(link.linked_at)
    stored = msgspec.structs.replace(
        link, linked_at=from_ms(linked_at_ms), version=1 if existing is None else existing.version + 1
    )
    conn.execute(
        _UPSERT,
        (
            stored.kind,
            stored.reference,
            stored.order_id,
            stored.order_number,
            stored.customer_id,
            stored.process_id,
            stored.store,
            stored.linked_by,
            linked_at_ms,
            stored.version,
        ),
    )
    return stored, True


def _put_batch(conn: sqlite3.Connection, links: list[Link]) -> int:
    return sum(_put(conn, link)[1] for link in links)


class SqliteLinkStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, link: Link) -> tuple[Link, bool]:
        return await self._db.write("links.put", lambda conn: _put(conn, link))

    async def put_many(self, links: list[Link]) -> int:
        changed = 0
        for start in range(0, len(links), _BATCH):
            batch = links[start : start + _BATCH]
            changed += await self._db.write("links.put_many", partial(_put_batch, links=batch))
        return changed

    async def get(self, kind: str, reference: str) -> Link | None:
        rows = await self._db.read(
            "links.get",
            lambda conn: conn.execute(f"{_SELECT} WHERE kind = ? AND reference = ?", (kind, reference)).fetchall(),
        )
        return _row_to_link(rows[0]) if rows else None

    async def delete(self, kind: str, reference: str) -> bool:
        deleted = await self._db.write(
            "links.delete",
            lambda conn: conn.execute("DELETE FROM links WHERE kind = ? AND reference = ?", (kind, reference)).rowcount,
        )
        return deleted > 0

    async def find_by_order(self, order_id: str) -> list[Link]:
        rows = await self._db.read(
            "links.find_by_order",
            lambda conn: conn.execute(f"{_SELECT} WHERE order_id = ? ORDER BY kind, reference", (order_id,)).fetchall(),
        )
        return [_row_to_link(row) for row in rows]

    async def find_by_customer(self, customer_id: str) -> list[Link]:
        rows = await self._db.read(
            "links.find_by_customer",
            lambda conn: conn.execute(
                f"{_SELECT} WHERE customer_id = ? ORDER BY kind, reference", (customer_id,)
            ).fetchall(),
        )
        return [_row_to_link(row) for row in rows]

    async def scan(self, *, after: tuple[str, str] | None = None, limit: int = 1000) -> list[Link]:
        if limit <= 0:
            # SQLite reads a negative LIMIT as "no limit".
            return []
        params: tuple[object, ...]
        if after is None:
            sql, params = f"{_SELECT} ORDER BY kind, reference LIMIT ?", (limit,)
        else:
            sql = f"{_SELECT} WHERE (kind, reference) > (?, ?) ORDER BY kind, reference LIMIT ?"
            params = (after[0], after[1], limit)
        rows = await self._db.read("links.scan", lambda conn: conn.execute(sql, params).fetchall())
        return [_row_to_link(row) for row in rows]

    async def count(self) -> int:
        rows = await self._db.read("links.count", lambda conn: conn.execute("SELECT count(*) FROM links").fetchall())
        return int(rows[0][0])
