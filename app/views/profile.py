"""The ownership matrix and per-field sync history of customer profile sync."""

from __future__ import annotations

from datetime import datetime

from app.views.order import ViewStruct


class FieldOwnershipView(ViewStruct, frozen=True):
    field: str
    """The CustomerView field (``firstName``), or ``custom.<name>`` for a custom field."""
    owner: str
    """``commercetools`` or ``novomind``: the only side whose changes are synced."""
    direction: str
    """``commercetools-to-novomind``, ``novomind-to-commercetools`` or ``none``."""
    custom_type: str | None = None
    """For novomind-owned custom fields: the commercetools Type key they live on."""


class OwnershipView(ViewStruct, frozen=True):
    """``mappings/ownership.toml`` as the gateway applies it."""

    custom_type: str
    """The commercetools custom Type novomind-owned custom fields live on."""
    fields: list[FieldOwnershipView]
    other_custom_fields: FieldOwnershipView
    """Every customer custom field not listed in ``fields`` (``field`` is ``custom.*``)."""


class FieldSyncView(ViewStruct, frozen=True):
    """When a synced profile field last changed through the sync, and on which side."""

    field: str
    changed_at: datetime
    side: str
    """Where the change came from: ``commercetools`` (a shopper or the shop) or ``novomind`` (an agent)."""
