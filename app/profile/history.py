"""Sync writes in the audit log: how they are recorded, and per field when and from where it last changed.

Each write of the profile sync, in either direction and whatever its outcome, is one audit record:
``action`` ``profile-sync.<direction>.<outcome>``, ``subject`` the source (``agent:<sub>`` or
``message:<id>``), ``resourceType`` ``customer-profile`` and the customer id, ``fields`` each field as
``name=<masked value>`` (kind and size only). The CustomerView's ``syncedFields`` are read back from
the written ones, so there is one record of truth and no second store to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final, Literal

from app.observability import correlation_id
from app.profile.ownership import ProfileChange, masked_value
from app.storage.ports import AuditLog, AuditRecord
from app.views import FieldSyncView

__all__ = ["RESOURCE_TYPE", "SyncHistory", "described"]

RESOURCE_TYPE: Final = "customer-profile"
Direction = Literal["novomind-to-commercetools", "commercetools-to-novomind"]
Outcome = Literal["written", "unchanged", "refused", "conflict", "failed"]
_SOURCE_SIDE: Final = {"novomind-to-commercetools": "novomind", "commercetools-to-novomind": "commercetools"}
# How far back syncedFields looks: a profile has a dozen fields, each record names at least one.
HISTORY_DEPTH: Final = 200


def described(changes: Iterable[ProfileChange]) -> tuple[str, ...]:
    """Each change as the audit log keeps it: ``name=<masked value>``."""
    return tuple(f"{c.field}={masked_value(c.value)}" for c in changes)


class SyncHistory:
    def __init__(self, audit: AuditLog, *, now: Callable[[], datetime]) -> None:
        self._audit = audit
        self._now = now

    async def record(
        self,
        direction: Direction,
        customer_id: str,
        fields: tuple[str, ...],
        *,
        source: str,
        outcome: Outcome,
    ) -> None:
        await self._audit.append(
            AuditRecord(
                at=self._now(),
                subject=source,
                action=f"profile-sync.{direction}.{outcome}",
                resource_type=RESOURCE_TYPE,
                resource_id=customer_id,
                fields=fields,
                correlation_id=correlation_id(),
            )
        )

    async def synced_fields(self, customer_id: str) -> list[FieldSyncView]:
        """Per field, its newest written change through the sync (newest first)."""
        records = await self._audit.query(resource_type=RESOURCE_TYPE, resource_id=customer_id, limit=HISTORY_DEPTH)
        seen: dict[str, FieldSyncView] = {}
        for record in records:
            _, _, rest = record.action.partition(".")
            direction, _, outcome = rest.rpartition(".")
            side = _SOURCE_SIDE.get(direction)
            if outcome != "written" or side is None:
                continue
            for entry in record.fields:
                name = entry.partition("=")[0]
                seen.setdefault(name, FieldSyncView(field=name, changed_at=record.at, side=side))
        return list(seen.values())
