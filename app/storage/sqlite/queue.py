"""The event queue on SQLite: one row per entry whose ``state`` says which receive group it is in.

A lease is ``state = 'leased'`` with ``visible_at_ms`` as its end; there is no background reaper:
``receive`` simply treats an ended lease as deliverable.

Ids: an entry is ``"<n>"`` (what ``enqueue`` and ``replay`` return); a delivery is
``"<n>.<attempt>"`` (``Delivery.entry_id``). ``ack``/``release``/``dead_letter`` take a delivery
id and act only while that very delivery's lease is live: a consumer whose lease ran out and was
handed to another consumer must not ack (or re-queue) the other consumer's delivery, and the
attempt number tells the two deliveries apart.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any, Final

from app.storage.ports import DeadLetter, Delivery, EnqueueResult, NewEvent, QueueStats
from app.storage.sqlite.engine import (
    SEQ_MAX,
    Database,
    duration_ms,
    format_seq,
    from_ms,
    parse_seq,
    seq_floor,
    transaction,
)

__all__ = ["SqliteEventQueue"]

# Expired dedupe rows removed per enqueue: keeps the table near its live size without a sweeper,
# and without ever making one enqueue pay for a long backlog.
_PRUNE: Final = 32

# The receive groups in the documented order, oldest (lowest id) first within each. Literal
# states let SQLite use the (state, ...) indexes.
_ENTRY_COLUMNS: Final = "id, message_id, key, payload, attempts, enqueued_at_ms"
_EXPIRED: Final = f"SELECT {_ENTRY_COLUMNS} FROM queue_entries WHERE state = 'leased' AND visible_at_ms <= ?"  # noqa: S608
_DUE: Final = f"SELECT {_ENTRY_COLUMNS} FROM queue_entries WHERE state = 'retry' AND visible_at_ms <= ?"  # noqa: S608
_NEW: Final = f"SELECT {_ENTRY_COLUMNS} FROM queue_entries WHERE state = 'new'"  # noqa: S608
_ANY_READY: Final = """
    SELECT EXISTS (SELECT 1 FROM queue_entries WHERE state = 'leased' AND visible_at_ms <= :now)
        OR EXISTS (SELECT 1 FROM queue_entries WHERE state = 'retry' AND visible_at_ms <= :now)
        OR EXISTS (SELECT 1 FROM queue_entries WHERE state = 'new')
"""
_LIVE_LEASE: Final = "id = ? AND attempts = ? AND state = 'leased' AND visible_at_ms > ?"
_DELIVERY_ID: Final = re.compile(r"([0-9]{1,19})\.([0-9]{1,19})")
_DEAD_COLUMNS: Final = "seq, message_id, key, payload, attempts, reason, enqueued_at_ms, dead_at_ms"


def _dead_letter(row: Any) -> DeadLetter:
    seq, message_id, key, payload, attempts, reason, enqueued_at_ms, dead_at_ms = row
    return DeadLetter(
        id=format_seq(seq),
        message_id=message_id,
        key=key,
        payload=payload,
        attempts=attempts,
        reason=reason,
        enqueued_at=from_ms(enqueued_at_ms),
        dead_at=from_ms(dead_at_ms),
    )


class SqliteEventQueue:
    def __init__(self, db: Database, *, dedupe_window_seconds: float) -> None:
        self._db = db
        self._window_ms = duration_ms(dedupe_window_seconds)

    async def enqueue(self, event: NewEvent) -> EnqueueResult:
        def body(conn: sqlite3.Connection) -> EnqueueResult:
            now = self._db.now_ms()
            horizon = now - self._window_ms
            seen = conn.execute(
                "SELECT first_seen_ms FROM queue_dedupe WHERE message_id = ?", (event.message_id,)
            ).fetchall()
            if seen and seen[0][0] > horizon:
                return EnqueueResult(None, duplicate=True)
            conn.execute(
                "INSERT INTO queue_dedupe (message_id, first_seen_ms) VALUES (?, ?)"
                " ON CONFLICT (message_id) DO UPDATE SET first_seen_ms = excluded.first_seen_ms",
                (event.message_id, now),
            )
            conn.execute(
                "DELETE FROM queue_dedupe WHERE message_id IN"
                " (SELECT message_id FROM queue_dedupe WHERE first_seen_ms <= ? LIMIT ?)",
                (horizon, _PRUNE),
            )
            return EnqueueResult(str(_insert_entry(conn, event.message_id, event.key, event.payload, now)), False)

        return await self._db.write("queue.enqueue", body)

    async def receive(self, consumer: str, *, max_count: int = 10, lease_seconds: float = 30.0) -> list[Delivery]:
        if max_count <= 0:
            return []
        lease_ms = duration_ms(lease_seconds)

        def body(conn: sqlite3.Connection) -> list[Delivery]:
            now = self._db.now_ms()
            rows: list[Any] = []
            for group, params in ((_EXPIRED, (now,)), (_DUE, (now,)), (_NEW, ())):
                if len(rows) >= max_count:
                    break
                rows += conn.execute(f"{group} ORDER BY id LIMIT ?", (*params, max_count - len(rows))).fetchall()
            conn.executemany(
                "UPDATE queue_entries SET state = 'leased', visible_at_ms = ?, attempts = attempts + 1, consumer = ?"
                " WHERE id = ?",
                [(now + lease_ms, consumer, row[0]) for row in rows],
            )
            return [
                Delivery(
                    entry_id=f"{entry_id}.{attempts + 1}",
                    message_id=message_id,
                    key=key,
                    payload=payload,
                    attempt=attempts + 1,
                    enqueued_at=from_ms(enqueued_at_ms),
                )
                for entry_id, message_id, key, payload, attempts, enqueued_at_ms in rows
            ]

        def poll(conn: sqlite3.Connection) -> list[Delivery]:
            # Idle consumers poll all the time: answering "nothing" from a WAL read takes no lock,
            # so they neither wait for nor hold up writers in other processes.
            if not conn.execute(_ANY_READY, {"now": self._db.now_ms()}).fetchall()[0][0]:
                return []
            return transaction(conn, body)

        return await self._db.on_writer("queue.receive", poll)

    async def ack(self, entry_id: str) -> bool:
        delivery = _parse_delivery_id(entry_id)
        if delivery is None:
            return False

        def body(conn: sqlite3.Connection) -> bool:
            deleted = conn.execute(
                f"DELETE FROM queue_entries WHERE {_LIVE_LEASE}",  # noqa: S608 - constant condition
                (*delivery, self._db.now_ms()),
            ).rowcount
            return deleted > 0

        return await self._db.write("queue.ack", body)

    async def release(self, entry_id: str, *, delay_seconds: float, reason: str) -> bool:
        delivery = _parse_delivery_id(entry_id)
        if delivery is None:
            return False
        delay_ms = duration_ms(delay_seconds)

        def body(conn: sqlite3.Connection) -> bool:
            now = self._db.now_ms()
            updated = conn.execute(
                "UPDATE queue_entries SET state = 'retry', visible_at_ms = ?, consumer = NULL, last_reason = ?"  # noqa: S608
                f" WHERE {_LIVE_LEASE}",
                (now + delay_ms, reason, *delivery, now),
            ).rowcount
            return updated > 0

        return await self._db.write("queue.release", body)

    async def dead_letter(self, entry_id: str, *, reason: str) -> bool:
        delivery = _parse_delivery_id(entry_id)
        if delivery is None:
            return False

        def body(conn: sqlite3.Connection) -> bool:
            now = self._db.now_ms()
            moved = conn.execute(
                "INSERT INTO dead_letters (message_id, key, payload, attempts, reason, enqueued_at_ms, dead_at_ms)"  # noqa: S608
                " SELECT message_id, key, payload, attempts, ?, enqueued_at_ms, ? FROM queue_entries"
                f" WHERE {_LIVE_LEASE}",
                (reason, now, *delivery, now),
            ).rowcount
            if moved:
                conn.execute("DELETE FROM queue_entries WHERE id = ?", (delivery[0],))
            return moved > 0

        return await self._db.write("queue.dead_letter", body)

    async def dead_letters(self, *, limit: int = 100, after: str | None = None) -> list[DeadLetter]:
        if limit <= 0:
            return []
        floor = -1 if after is None else seq_floor(after)
        rows = await self._db.read(
            "queue.dead_letters",
            lambda conn: conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE seq > ? ORDER BY seq LIMIT ?",  # noqa: S608
                (floor, limit),
            ).fetchall(),
        )
        return [_dead_letter(row) for row in rows]

    async def get_dead_letter(self, dead_letter_id: str) -> DeadLetter | None:
        seq = parse_seq(dead_letter_id)
        if seq is None:
            return None
        rows = await self._db.read(
            "queue.get_dead_letter",
            lambda conn: conn.execute(
                f"SELECT {_DEAD_COLUMNS} FROM dead_letters WHERE seq = ?",  # noqa: S608 - constant columns
                (seq,),
            ).fetchall(),
        )
        return _dead_letter(rows[0]) if rows else None

    async def replay(self, dead_letter_id: str) -> str | None:
        seq = parse_seq(dead_letter_id)
        if seq is None:
            return None

        def body(conn: sqlite3.Connection) -> str | None:
            rows = conn.execute("SELECT message_id, key, payload FROM dead_letters WHERE seq = ?", (seq,)).fetchall()
            if not rows:
                return None
            conn.execute("DELETE FROM dead_letters WHERE seq = ?", (seq,))
            message_id, key, payload = rows[0]
            # Deliberately not checked against (nor recorded in) the dedupe table: a replay is an
            # operator's decision to process the message again.
            return str(_insert_entry(conn, message_id, key, payload, self._db.now_ms()))

        return await self._db.write("queue.replay", body)

    async def stats(self) -> QueueStats:
        def body(conn: sqlite3.Connection) -> QueueStats:
            now = self._db.now_ms()
            # One statement, so the four numbers come from one snapshot.
            row = conn.execute(
                """
                SELECT
                    (SELECT count(*) FROM queue_entries WHERE state = 'new')
                    + (SELECT count(*) FROM queue_entries WHERE state = 'retry' AND visible_at_ms <= :now),
                    (SELECT count(*) FROM queue_entries WHERE state = 'retry' AND visible_at_ms > :now),
                    (SELECT count(*) FROM queue_entries WHERE state = 'leased'),
                    (SELECT count(*) FROM dead_letters),
                    (SELECT min(enqueued_at_ms) FROM queue_entries)
                """,
                {"now": now},
            ).fetchall()[0]
            oldest = from_ms(row[4]) if row[4] is not None else None
            return QueueStats(ready=row[0], delayed=row[1], in_flight=row[2], dead=row[3], oldest_enqueued_at=oldest)

        return await self._db.read("queue.stats", body)


def _parse_delivery_id(text: str) -> tuple[int, int] | None:
    match = _DELIVERY_ID.fullmatch(text)
    if match is None:
        return None
    entry, attempt = int(match[1]), int(match[2])
    return (entry, attempt) if entry <= SEQ_MAX and attempt <= SEQ_MAX else None


def _insert_entry(conn: sqlite3.Connection, message_id: str, key: str, payload: bytes, now: int) -> int:
    cursor = conn.execute(
        "INSERT INTO queue_entries (message_id, key, payload, enqueued_at_ms, state, visible_at_ms)"
        " VALUES (?, ?, ?, ?, 'new', ?)",
        (message_id, key, payload, now, now),
    )
    assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
    return cursor.lastrowid
