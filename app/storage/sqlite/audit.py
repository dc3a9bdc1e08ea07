"""The audit log on SQLite: append-only rows; ids are the zero-padded row sequence."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Final

import msgspec

from app.storage.ports import AuditRecord
from app.storage.sqlite.engine import Database, format_seq, from_ms, parse_seq, seq_floor, to_ms

__all__ = ["SqliteAuditLog"]

_SELECT: Final = "SELECT seq, at_ms, subject, action, resource_type, resource_id, fields, correlation_id FROM audit_log"
_fields_decoder: Final = msgspec.json.Decoder(tuple[str, ...])


def _record(row: Any) -> AuditRecord:
    seq, at_ms, subject, action, resource_type, resource_id, fields, correlation_id = row
    return AuditRecord(
        id=format_seq(seq),
        at=from_ms(at_ms),
        subject=subject,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        fields=_fields_decoder.decode(fields),
        correlation_id=correlation_id,
    )


class SqliteAuditLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, record: AuditRecord) -> str:
        params = (
            to_ms(record.at),
            record.subject,
            record.action,
            record.resource_type,
            record.resource_id,
            msgspec.json.encode(list(record.fields)).decode(),
            record.correlation_id,
        )

        def body(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO audit_log (at_ms, subject, action, resource_type, resource_id, fields, correlation_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                params,
            )
            assert cursor.lastrowid is not None  # an INSERT into a rowid table always sets it
            return cursor.lastrowid

        return format_seq(await self._db.write("audit.append", body))

    async def query(
        self,
        *,
        subject: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        before: str | None = None,
    ) -> list[AuditRecord]:
        """``since`` is inclusive and ``until`` exclusive, so adjacent windows never overlap."""
        if limit <= 0:
            return []
        conditions: list[str] = []
        params: list[Any] = []
        for column, value in (("subject", subject), ("resource_type", resource_type), ("resource_id", resource_id)):
            if value is not None:
                conditions.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            conditions.append("at_ms >= ?")
            params.append(to_ms(since))
        if until is not None:
            conditions.append("at_ms < ?")
            # Rounded up: a record stored as 12.345 may have happened at 12.3454, before 12.3455.
            params.append(to_ms(until) + (1 if until.microsecond % 1000 else 0))
        if before is not None:
            # Strictly older than ``before`` in string order, which is sequence order for our ids.
            conditions.append("seq <= ?")
            params.append(seq_floor(before) - (1 if parse_seq(before) is not None else 0))
        where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
        sql = f"{_SELECT}{where} ORDER BY seq DESC LIMIT ?"
        params.append(limit)
        rows = await self._db.read("audit.query", lambda conn: conn.execute(sql, params).fetchall())
        return [_record(row) for row in rows]
