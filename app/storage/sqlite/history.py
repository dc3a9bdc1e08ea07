"""The pusher's per-ticket history on SQLite: one row per (ticket, write), newest ``keep`` kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import msgspec

from app.storage.ports import PushRecord
from app.storage.sqlite.engine import SEQ_MAX, Database, format_seq, parse_seq, seq_floor

__all__ = ["SqlitePushHistory"]

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(PushRecord)


class SqlitePushHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, records: Sequence[PushRecord], *, keep: int) -> int:
        if not records:
            return 0

        def body(conn: sqlite3.Connection) -> int:
            added = 0
            for record in records:
                added += conn.execute(
                    "INSERT INTO push_history (ticket_id, key, record) VALUES (?, ?, ?)"
                    " ON CONFLICT (ticket_id, key) DO NOTHING",
                    (record.ticket_id, record.key, _encoder.encode(record)),
                ).rowcount
            for ticket_id in {record.ticket_id for record in records}:
                # Everything at or below the (keep+1)-th newest goes: bounded per ticket, whatever keep was before.
                conn.execute(
                    "DELETE FROM push_history WHERE ticket_id = ? AND seq <= (SELECT seq FROM push_history"
                    " WHERE ticket_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (ticket_id, ticket_id, max(keep, 0)),
                )
            return added

        return await self._db.write("history.record", body, together=True)

    async def for_ticket(self, ticket_id: str, *, limit: int = 50, after: str | None = None) -> list[PushRecord]:
        if limit <= 0:
            return []
        # ``after`` pages back: strictly older in string order, which is sequence order for our ids.
        ceiling = SEQ_MAX if after is None else seq_floor(after) - (1 if parse_seq(after) is not None else 0)
        rows = await self._db.read(
            "history.for_ticket",
            lambda conn: conn.execute(
                "SELECT seq, record FROM push_history WHERE ticket_id = ? AND seq <= ? ORDER BY seq DESC LIMIT ?",
                (ticket_id, ceiling, limit),
            ).fetchall(),
        )
        return [msgspec.structs.replace(_decoder.decode(record), id=format_seq(seq)) for seq, record in rows]
