"""OrderView, OrderSummary and their parts.

Schema evolution follows msgspec's rules: new fields get defaults, existing fields never change
type, so widget and REST clients built against an older document keep working.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class ViewStruct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Base of every view: camelCase JSON, immutable."""


class Money(ViewStruct, frozen=True, omit_defaults=True):
    """An amount as commercetools stores it plus its rendering for the view's locale.

    ``centAmount`` is in minor units of ``fractionDigits``; high-precision prices also keep
    ``preciseAmount`` in ``preciseFractionDigits`` so nothing is lost to rounding.
    """

    cent_amount: int
    currency_code: str
    fraction_digits: int
    formatted: str
    precise_amount: int | None = None
    precise_fraction_digits: int | None = None


class CustomFieldView(ViewStruct, frozen=True):
    """A custom field that ``mappings/custom-fields.toml`` shows, under its label for the view's locale."""

    name: str
    label: str
    value: str | int | float | bool | list[str] | None
    """The raw value; enum fields give their key, money its cent amount (see ``display``)."""
    display: str
    """The value as an agent reads it: enum labels, dates and money rendered for the locale."""


class AddressView(ViewStruct, frozen=True):
    country: str
    id: str | None = None
    title: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    company: str | None = None
    street_name: str | None = None
    street_number: str | None = None
    additional_street_info: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    state: str | None = None
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    default_shipping: bool = False
    default_billing: bool = False


class LineItemStateView(ViewStruct, frozen=True):
    """How many of a line item's units sit in one workflow state."""

    quantity: int
    state_id: str
    state_key: str | None = None
    state: str | None = None
    """The state's name for the view's locale (or its key) when commercetools expanded it."""


class LineItemView(ViewStruct, frozen=True):
    id: str
    name: str
    quantity: int
    unit_price: Money
    total_price: Money
    sku: str | None = None
    states: list[LineItemStateView] = msgspec.field(default_factory=list)


class CustomLineItemView(ViewStruct, frozen=True):
    id: str
    name: str
    quantity: int
    unit_price: Money
    total_price: Money
    slug: str | None = None
    states: list[LineItemStateView] = msgspec.field(default_factory=list)


class TaxPortionView(ViewStruct, frozen=True):
    amount: Money
    rate: float | None = None
    name: str | None = None


class TaxedPriceView(ViewStruct, frozen=True):
    total_net: Money
    total_gross: Money
    total_tax: Money | None = None
    tax_portions: list[TaxPortionView] = msgspec.field(default_factory=list)


class ShippingMethodView(ViewStruct, frozen=True):
    name: str
    id: str | None = None
    key: str | None = None
    description: str | None = None
    price: Money | None = None
    shipping_key: str | None = None
    """Set on orders in ``Multiple`` shipping mode: which of the order's shippings this is."""


class ItemQuantityView(ViewStruct, frozen=True):
    """A quantity of one (custom) line item, named so the agent need not cross-reference ids."""

    item_id: str
    quantity: int
    name: str | None = None


class ParcelView(ViewStruct, frozen=True):
    id: str
    created_at: datetime | None = None
    tracking_id: str | None = None
    carrier: str | None = None
    provider: str | None = None
    tracking_url: str | None = None
    """Built from the carrier's template in ``mappings/carriers.toml``; absent for unknown carriers."""
    is_return: bool = False
    items: list[ItemQuantityView] = msgspec.field(default_factory=list)


class DeliveryView(ViewStruct, frozen=True):
    id: str
    created_at: datetime | None = None
    items: list[ItemQuantityView] = msgspec.field(default_factory=list)
    parcels: list[ParcelView] = msgspec.field(default_factory=list)
    shipping_key: str | None = None


class ReturnItemView(ViewStruct, frozen=True):
    id: str
    quantity: int
    shipment_state: str
    """Advised, Returned, BackInStock or Unusable."""
    payment_state: str
    """NonRefundable, Initial, Refunded or NotRefunded."""
    item_id: str | None = None
    name: str | None = None
    comment: str | None = None
    created_at: datetime | None = None


class ReturnView(ViewStruct, frozen=True):
    items: list[ReturnItemView]
    return_tracking_id: str | None = None
    return_date: datetime | None = None


class TransactionView(ViewStruct, frozen=True):
    id: str
    type: str
    """Authorization, CancelAuthorization, Charge, Refund or Chargeback."""
    state: str
    """Initial, Pending, Success or Failure."""
    amount: Money
    timestamp: datetime | None = None
    interaction_id: str | None = None


class PaymentView(ViewStruct, frozen=True):
    id: str
    amount_planned: Money
    method: str | None = None
    method_name: str | None = None
    provider: str | None = None
    """commercetools' ``paymentInterface``: the PSP (stripe, adyen, …)."""
    interface_id: str | None = None
    status_code: str | None = None
    status_text: str | None = None
    transactions: list[TransactionView] = msgspec.field(default_factory=list)


class DiscountCodeView(ViewStruct, frozen=True):
    id: str
    code: str | None = None
    state: str | None = None


class WorkflowStateView(ViewStruct, frozen=True):
    id: str
    key: str | None = None
    name: str | None = None


class CustomerGroupView(ViewStruct, frozen=True):
    id: str
    key: str | None = None
    name: str | None = None


class LinkView(ViewStruct, frozen=True):
    """A novomind reference tied to a commercetools order and/or customer."""

    kind: str
    """``ticket``, ``process``, ``chat`` or ``contact`` (declared in ``mappings/links.toml``)."""
    reference: str
    source: str
    """``stored`` (linked through the API or imported) or ``orderCustomField`` (found automatically:
    the order's ticket custom field names this ticket)."""
    order_id: str | None = None
    order_number: str | None = None
    """The order's number as commercetools has it now (links store ids; numbers can change)."""
    customer_id: str | None = None
    process_id: str | None = None
    store: str | None = None
    linked_by: str | None = None
    linked_at: datetime | None = None
    version: int | None = None


class OrderSummary(ViewStruct, frozen=True):
    """One line of an order list: enough to pick the right order, nothing personal beyond the email."""

    id: str
    order_number: str | None
    store: str | None
    locale: str
    created_at: datetime
    order_state: str
    shipment_state: str | None
    payment_state: str | None
    total_price: Money
    item_count: int
    customer_id: str | None = None
    customer_email: str | None = None


class OrderView(ViewStruct, frozen=True):
    id: str
    order_number: str | None
    store: str | None
    locale: str
    """The locale the view is rendered in: names and ``formatted`` amounts follow it."""
    country: str | None
    time_zone: str
    """IANA zone of the market; timestamps are UTC instants to render in this zone."""
    created_at: datetime
    last_modified_at: datetime | None
    completed_at: datetime | None
    order_state: str
    shipment_state: str | None
    payment_state: str | None
    state: WorkflowStateView | None
    """The order's custom workflow state, if the project uses one."""
    customer_id: str | None
    customer_email: str | None
    customer_group: CustomerGroupView | None
    line_items: list[LineItemView]
    custom_line_items: list[CustomLineItemView]
    shipping_method: ShippingMethodView | None
    shipping_methods: list[ShippingMethodView]
    """Every shipping of a ``Multiple``-mode order; ``[shippingMethod]`` otherwise."""
    shipping_address: AddressView | None
    billing_address: AddressView | None
    deliveries: list[DeliveryView]
    returns: list[ReturnView]
    payments: list[PaymentView]
    discount_codes: list[DiscountCodeView]
    total_price: Money
    taxed_price: TaxedPriceView | None
    custom: list[CustomFieldView]
    links: list[LinkView]
    fetched_at: datetime
    stale: bool = False
    """True when served from cache because commercetools could not be reached."""
    warnings: list[str] = msgspec.field(default_factory=list)
    """What the view could not include this time, e.g. stored links while storage is unreachable."""
    masked: bool = False
    """Personal data is masked per ``mappings/masking.toml`` (the caller lacks ``pii:read``)."""
