"""novomind → commercetools: an agent's merge patch, written at the customer's version.

The patch is checked against ``mappings/ownership.toml`` before anything is read or written. The
customer is then read afresh (never from the view cache) through the caller's stores, the update
actions are computed for the fields the patch names, and sent at the version just read. When
commercetools answers 409 ``ConcurrentModification`` someone else changed the customer in between:
it is read again and the same patch re-planned against what is there now, a bounded number of times,
so the gateway never overwrites a field it was not asked to change and never loses the other change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal, Protocol

from app.access import Caller
from app.commercetools.models import CtCustomer, CtType
from app.errors import (
    ConcurrentModificationError,
    GatewayError,
    NotFoundError,
    OwnershipConflictError,
    UpstreamRejectedError,
)
from app.lookup import LookupService
from app.lookup.answers import Answer
from app.lookup.reader import ScopedReader
from app.mapping.schema import OwnershipFile
from app.profile.history import SyncHistory, described
from app.profile.ownership import ProfileChange, custom_type_key, ownership_view, plan_patch, update_actions
from app.views import OwnershipView

__all__ = ["CustomerWriter", "ProfileSync"]

DIRECTION: Final = "novomind-to-commercetools"
DEFAULT_ATTEMPTS: Final = 3


class CustomerWriter(Protocol):
    async def update_customer(
        self, customer_id: str, version: int, actions: Sequence[dict[str, object]]
    ) -> CtCustomer: ...

    async def get_type_by_key(self, key: str) -> CtType | None: ...


def _version_conflict(error: UpstreamRejectedError) -> bool:
    return error.status == 409 and error.error_code == "ConcurrentModification"


class ProfileSync:
    def __init__(
        self,
        ownership: OwnershipFile,
        reader: ScopedReader,
        writer: CustomerWriter,
        lookup: LookupService,
        history: SyncHistory,
        *,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._ownership = ownership
        self._reader = reader
        self._writer = writer
        self._lookup = lookup
        self._history = history
        self._attempts = attempts
        self._type_id: str | None = None

    def ownership(self) -> OwnershipView:
        return ownership_view(self._ownership)

    async def patch(self, customer_id: str, patch: object, caller: Caller) -> Answer:
        """Apply an agent's merge patch; answers the customer's new view for this caller."""
        source = f"agent:{caller.subject}"
        customer = await self._visible(customer_id, caller)
        try:
            changes = plan_patch(patch, self._ownership, writer="novomind")
        except OwnershipConflictError as refused:
            fields = (f"{refused.field}=not-owned",)
            await self._history.record(DIRECTION, customer.id, fields, source=source, outcome="refused")
            raise
        outcome = await self._write(customer, changes, caller, source)
        await self._history.record(DIRECTION, customer.id, described(changes), source=source, outcome=outcome)
        await self._lookup.evict_customer(customer.id)
        return await self._lookup.customer_answer(customer.id, caller)

    async def _visible(self, customer_id: str, caller: Caller) -> CtCustomer:
        customer = await self._reader.find_customer(customer_id, caller)
        if customer is None:
            raise NotFoundError("customer")
        return customer

    async def _write(
        self, customer: CtCustomer, changes: list[ProfileChange], caller: Caller, source: str
    ) -> Literal["written", "unchanged"]:
        for attempt in range(self._attempts):
            if attempt:
                customer = await self._visible(customer.id, caller)
            try:
                actions = update_actions(
                    changes,
                    customer,
                    custom_type=self._ownership.custom_type,
                    has_custom_type=await self._on_own_type(customer),
                )
            except GatewayError:
                await self._history.record(DIRECTION, customer.id, described(changes), source=source, outcome="refused")
                raise
            if not actions:
                return "unchanged"
            try:
                await self._writer.update_customer(customer.id, customer.version, actions)
            except UpstreamRejectedError as error:
                if _version_conflict(error):
                    continue
                await self._history.record(DIRECTION, customer.id, described(changes), source=source, outcome="failed")
                raise
            return "written"
        await self._history.record(DIRECTION, customer.id, described(changes), source=source, outcome="conflict")
        raise ConcurrentModificationError(self._attempts)

    async def _on_own_type(self, customer: CtCustomer) -> bool | None:
        """Whether the customer's custom fields are on the configured Type (``None``: it has none)."""
        if customer.custom is None or customer.custom.type is None:
            return None
        key = custom_type_key(customer)
        if key is not None:
            return key == self._ownership.custom_type
        # Not expanded: compare ids with the configured Type's, looked up once per process.
        if self._type_id is None:
            found = await self._writer.get_type_by_key(self._ownership.custom_type)
            if found is None:
                return False
            self._type_id = found.id
        return customer.custom.type.id == self._type_id
