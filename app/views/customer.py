"""CustomerView and the lookup answer."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from app.views.order import AddressView, CustomerGroupView, CustomFieldView, LinkView, OrderSummary, ViewStruct
from app.views.profile import FieldSyncView


class CustomerView(ViewStruct, frozen=True):
    id: str
    email: str
    locale: str
    """Locale the view is rendered in (the customer's own, else their store's market)."""
    stores: list[str]
    """Store keys the customer belongs to; empty means a global customer."""
    customer_number: str | None = None
    external_id: str | None = None
    title: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    company_name: str | None = None
    date_of_birth: date | None = None
    email_verified: bool = False
    phones: list[str] = msgspec.field(default_factory=list)
    """Every distinct phone and mobile number on the customer's addresses."""
    addresses: list[AddressView] = msgspec.field(default_factory=list)
    customer_group: CustomerGroupView | None = None
    custom: list[CustomFieldView] = msgspec.field(default_factory=list)
    created_at: datetime | None = None
    order_count: int | None = None
    """Orders of this customer the caller may see (``None`` when not counted)."""
    recent_orders: list[OrderSummary] = msgspec.field(default_factory=list)
    fetched_at: datetime | None = None
    masked: bool = False
    """Personal data is masked per ``mappings/masking.toml`` (the caller lacks ``pii:read``)."""
    stale: bool = False
    """Answered from the cache because commercetools failed or was slow: as of ``fetchedAt``."""
    synced_fields: list[FieldSyncView] = msgspec.field(default_factory=list)
    """Per profile field changed through the profile sync: when, and from which side (newest first)."""


class CandidateView(ViewStruct, frozen=True):
    """Another possible match for a ticket, labelled with its store: never silently dropped."""

    kind: str
    """``customer`` (a registered customer) or ``guestOrders`` (orders placed without an account)."""
    store: str | None
    """The candidate's store (its first, for customers registered in several); ``null`` for global ones."""
    matched_by: list[str]
    """Which inputs matched: ``ticketId``, ``email``, ``phone``, ``orderNumber``, ``contactExternalId``."""
    stores: list[str] = msgspec.field(default_factory=list)
    customer_id: str | None = None
    email: str | None = None
    name: str | None = None
    order_numbers: list[str] = msgspec.field(default_factory=list)


class LookupView(ViewStruct, frozen=True):
    """What an agent needs for one ticket: the best match, its recent orders, every other candidate."""

    customer: CustomerView | None
    """The best-matching customer, or ``null`` when only guest orders (or nothing) matched."""
    order: OrderSummary | None
    """The order named by ``orderNumber``, when given and visible."""
    recent_orders: list[OrderSummary]
    candidates: list[CandidateView]
    ambiguous: bool
    """True when more than one customer matched equally well: the agent must choose."""
    link: LinkView | None = None
    """The link of the ticket asked about (``ticketId``), stored or found through the order's custom field."""
    warnings: list[str] = msgspec.field(default_factory=list)
    """What the answer could not include this time, e.g. stored links while storage is unreachable."""
    masked: bool = False
    """Personal data is masked per ``mappings/masking.toml`` (the caller lacks ``pii:read``)."""


class RevealedField(ViewStruct, frozen=True):
    """One personal field, unmasked, for a caller with ``pii:read`` who asked for it (and is audited)."""

    field: str
    """The field's name as in the view (``email``, ``phones``, ``shippingAddress``, ``address:<id>``, …)."""
    value: str | list[str] | AddressView | None
    """Its value: text, a list of phone numbers, or an address; ``null`` when the view has none."""
