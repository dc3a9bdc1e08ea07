"""The audit log: one append-only stream; ids are its entry ids (padded), so they sort in append order.

Queries walk the stream backwards (``XREVRANGE``) in pages and filter on the client. One query stops
after examining ``scan_budget`` records: rather than return a short page that looks like the end of
the log, it raises ``StorageUnavailableError`` naming the limit, and the operator narrows the query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec
import redis.asyncio
from redis.typing import EncodableT, FieldT

from app.errors import StorageUnavailableError
from app.storage.ports import AuditRecord
from app.storage.redis_store.guard import Guard
from app.storage.redis_store.keys import KeyScheme, entries, from_micros, public_stream_id, raw_stream_id, to_micros

__all__ = ["RedisAuditLog"]

# Records fetched per round trip when filters may discard most of them.
_PAGE: Final = 500
_fields_decoder = msgspec.json.Decoder(tuple[str, ...])


class RedisAuditLog:
    def __init__(self, client: redis.asyncio.Redis, keys: KeyScheme, guard: Guard, *, scan_budget: int) -> None:
        self._redis = client
        self._keys = keys
        self._guard = guard
        self._scan_budget = scan_budget

    async def append(self, record: AuditRecord) -> str:
        fields: dict[FieldT, EncodableT] = {
            "at": to_micros(record.at),
            "subject": record.subject,
            "action": record.action,
            "resource_type": record.resource_type,
            "resource_id": record.resource_id,
            "fields": msgspec.json.encode(record.fields),
        }
        if record.correlation_id is not None:
            fields["correlation_id"] = record.correlation_id
        async with self._guard("audit.append"):
            entry_id = await self._redis.xadd(self._keys.audit_stream, fields)
        return public_stream_id(entry_id)

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
        if limit <= 0:
            return []
        end = "+"
        if before is not None:
            raw = raw_stream_id(before)
            if raw is None:
                return []
            end = f"({raw}"
        filtered = any(value is not None for value in (subject, resource_type, resource_id, since, until))
        page = _PAGE if filtered else limit
        since_us = None if since is None else to_micros(since)
        until_us = None if until is None else to_micros(until)
        found: list[AuditRecord] = []
        examined = 0
        while True:
            async with self._guard("audit.query"):
                batch = entries(await self._redis.xrevrange(self._keys.audit_stream, end, "-", count=page))
            for entry_id, fields in batch:
                at = int(fields[b"at"])
                if (
                    (subject is None or fields[b"subject"].decode() == subject)
                    and (resource_type is None or fields[b"resource_type"].decode() == resource_type)
                    and (resource_id is None or fields[b"resource_id"].decode() == resource_id)
                    and (since_us is None or at >= since_us)
                    and (until_us is None or at < until_us)
                ):
                    found.append(_record(entry_id, fields))
                    if len(found) == limit:
                        return found
            if len(batch) < page:
                return found
            examined += len(batch)
            if examined >= self._scan_budget:
                raise StorageUnavailableError(
                    f"audit query stopped after examining {examined} records (its scan budget) with "
                    f"{len(found)} of {limit} matches; page further back with `before` or use fewer filters"
                )
            end = f"({batch[-1][0].decode()}"


def _record(entry_id: bytes, fields: dict[bytes, bytes]) -> AuditRecord:
    correlation_id = fields.get(b"correlation_id")
    return AuditRecord(
        id=public_stream_id(entry_id),
        at=from_micros(int(fields[b"at"])),
        subject=fields[b"subject"].decode(),
        action=fields[b"action"].decode(),
        resource_type=fields[b"resource_type"].decode(),
        resource_id=fields[b"resource_id"].decode(),
        fields=_fields_decoder.decode(fields[b"fields"]),
        correlation_id=None if correlation_id is None else correlation_id.decode(),
    )
