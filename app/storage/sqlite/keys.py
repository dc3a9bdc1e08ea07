"""Idempotency keys, sequence gates and poller cursors on SQLite: small rows changed by compare-and-set."""

from __future__ import annotations

import sqlite3
from typing import Final

from app.storage.ports import GateEntry, Reservation
from app.storage.sqlite.engine import Database, duration_ms

__all__ = ["SqliteCursorStore", "SqliteIdempotencyStore", "SqliteSequenceGates"]

# Expired keys removed per reservation: bounded work per call, no sweeper thread.
_PRUNE: Final = 32


class SqliteIdempotencyStore:
    """An expired lease is not held by anyone: its owner can no longer complete or abandon it,
    and the next ``reserve`` (by anyone) takes it over."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def reserve(self, key: str, *, owner: str, lease_seconds: float, ttl_seconds: float) -> Reservation:
        lease_ms = duration_ms(lease_seconds)
        ttl_ms = duration_ms(ttl_seconds)

        def body(conn: sqlite3.Connection) -> Reservation:
            now = self._db.now_ms()
            conn.execute(
                "DELETE FROM idempotency_keys WHERE key IN"
                " (SELECT key FROM idempotency_keys WHERE expires_at_ms <= ? LIMIT ?)",
                (now, _PRUNE),
            )
            rows = conn.execute(
                "SELECT state, owner, expires_at_ms, result FROM idempotency_keys WHERE key = ?", (key,)
            ).fetchall()
            if rows:
                state, holder, expires_at_ms, result = rows[0]
                if expires_at_ms > now:
                    if state == "done":
                        return Reservation("done", result)
                    if holder != owner:
                        return Reservation("busy")
            # New, expired, or already ours (a retry of our own reserve renews the lease).
            conn.execute(
                "INSERT INTO idempotency_keys (key, state, owner, expires_at_ms, ttl_ms, result)"
                " VALUES (?, 'leased', ?, ?, ?, NULL)"
                " ON CONFLICT (key) DO UPDATE SET state = 'leased', owner = excluded.owner,"
                " expires_at_ms = excluded.expires_at_ms, ttl_ms = excluded.ttl_ms, result = NULL",
                (key, owner, now + lease_ms, ttl_ms),
            )
            return Reservation("acquired")

        return await self._db.write("idempotency.reserve", body, together=True)

    async def complete(self, key: str, *, owner: str, result: bytes = b"") -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            now = self._db.now_ms()
            updated = conn.execute(
                "UPDATE idempotency_keys SET state = 'done', result = ?, expires_at_ms = ? + ttl_ms"
                " WHERE key = ? AND state = 'leased' AND owner = ? AND expires_at_ms > ?",
                (result, now, key, owner, now),
            ).rowcount
            return updated > 0

        return await self._db.write("idempotency.complete", body, together=True)

    async def abandon(self, key: str, *, owner: str) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute(
                "DELETE FROM idempotency_keys WHERE key = ? AND state = 'leased' AND owner = ? AND expires_at_ms > ?",
                (key, owner, self._db.now_ms()),
            ).rowcount
            return deleted > 0

        return await self._db.write("idempotency.abandon", body)


class SqliteSequenceGates:
    """One row per resource; ``until_ms`` is the lease's end on the storage clock (0: open) and
    ``ticket`` only grows, a fencing token."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def enter(self, resource: str, *, lease_seconds: float) -> GateEntry:
        lease_ms = duration_ms(lease_seconds)

        def body(conn: sqlite3.Connection) -> GateEntry:
            now = self._db.now_ms()
            rows = conn.execute("SELECT ticket, until_ms, mark FROM gates WHERE resource = ?", (resource,)).fetchall()
            if rows and rows[0][1] > now:
                return GateEntry("busy")
            ticket = rows[0][0] + 1 if rows else 1
            conn.execute(
                "INSERT INTO gates (resource, ticket, until_ms, mark) VALUES (?, ?, ?, NULL)"
                " ON CONFLICT (resource) DO UPDATE SET ticket = excluded.ticket, until_ms = excluded.until_ms",
                (resource, ticket, now + lease_ms),
            )
            return GateEntry("entered", ticket, rows[0][2] if rows else None)

        return await self._db.write("gates.enter", body)

    async def renew(self, resource: str, *, ticket: int, lease_seconds: float, mark: str | None = None) -> bool:
        lease_ms = duration_ms(lease_seconds)

        def body(conn: sqlite3.Connection) -> bool:
            now = self._db.now_ms()
            updated = conn.execute(
                "UPDATE gates SET until_ms = ?, mark = CASE WHEN ? THEN ? ELSE mark END"
                " WHERE resource = ? AND ticket = ? AND until_ms > ?",
                (now + lease_ms, mark is not None, mark, resource, ticket, now),
            ).rowcount
            return updated > 0

        return await self._db.write("gates.renew", body, together=True)

    async def leave(self, resource: str, *, ticket: int, mark: str | None = None) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            updated = conn.execute(
                "UPDATE gates SET until_ms = 0, mark = CASE WHEN ? THEN ? ELSE mark END"
                " WHERE resource = ? AND ticket = ? AND until_ms > ?",
                (mark is not None, mark, resource, ticket, self._db.now_ms()),
            ).rowcount
            return updated > 0

        return await self._db.write("gates.leave", body, together=True)


class SqliteCursorStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, name: str) -> str | None:
        rows = await self._db.read(
            "cursors.get", lambda conn: conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)).fetchall()
        )
        return str(rows[0][0]) if rows else None

    async def advance(self, name: str, *, expected: str | None, value: str) -> bool:
        def body(conn: sqlite3.Connection) -> bool:
            now = self._db.now_ms()
            if expected is None:
                cursor = conn.execute(
                    "INSERT INTO cursors (name, value, updated_at_ms) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
                    (name, value, now),
                )
            else:
                cursor = conn.execute(
                    "UPDATE cursors SET value = ?, updated_at_ms = ? WHERE name = ? AND value = ?",
                    (value, now, name, expected),
                )
            return cursor.rowcount > 0

        return await self._db.write("cursors.advance", body)
