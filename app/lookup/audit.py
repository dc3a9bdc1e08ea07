"""Reading the audit trail of unmasked reads: the service the ``/v1/audit`` controller calls."""

from __future__ import annotations

from datetime import datetime

import msgspec

from app.storage.ports import AuditLog, AuditRecord

__all__ = ["AuditPage", "AuditTrail"]


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    results: list[AuditRecord]
    next: str | None
    """Pass as ``before`` for the next (older) page; ``None`` on the last page."""


class AuditTrail:
    def __init__(self, log: AuditLog) -> None:
        self._log = log

    async def page(
        self,
        *,
        subject: str | None = None,
        resource_type: str | None = None,
        resource_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: str | None = None,
        limit: int = 50,
    ) -> AuditPage:
        # One record more than asked tells whether an older page exists without a second query.
        records = await self._log.query(
            subject=subject,
            resource_type=resource_type,
            resource_id=resource_id,
            since=since,
            until=until,
            limit=limit + 1,
            before=before,
        )
        more = len(records) > limit
        records = records[:limit]
        return AuditPage(results=records, next=records[-1].id if more and records else None)
