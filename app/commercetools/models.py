"""Wire models: commercetools representations as msgspec Structs.

Tolerant by design: unknown fields are ignored (commercetools adds fields without notice) and
enumerations are plain strings, so a new state value never breaks decoding; the views decide how
to show what they do not know. Only the fields the gateway reads are modelled. ``password`` on
customers is deliberately absent so a hash can never travel further than the decoder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

import msgspec

__all__ = [
    "CtAddress",
    "CtChangeDelivery",
    "CtChannel",
    "CtCloudEvent",
    "CtCustomFields",
    "CtCustomLineItem",
    "CtCustomer",
    "CtCustomerGroup",
    "CtDelivery",
    "CtError",
    "CtErrorResponse",
    "CtItemState",
    "CtKeyReference",
    "CtLineItem",
    "CtMessage",
    "CtMessageDelivery",
    "CtMoney",
    "CtOrder",
    "CtPagedCustomers",
    "CtPagedMessages",
    "CtPagedOrders",
    "CtPagedRawMessages",
    "CtParcel",
    "CtPayloadNotIncluded",
    "CtPayment",
    "CtReference",
    "CtShippingMethod",
    "CtState",
    "CtStore",
    "CtTaxedPrice",
    "CtType",
]

T = TypeVar("T")

LocalizedString = dict[str, str]


class CtStruct(msgspec.Struct, rename="camel", frozen=True, kw_only=True):
    """Base of every wire type: camelCase on the wire, immutable, unknown fields ignored."""


class CtMoney(CtStruct, frozen=True):
    """Both ``centPrecision`` and ``highPrecision`` money in one tolerant shape.

    A tagged union would reject money without ``type`` (drafts and some mocks omit it); the
    presence of ``precise_amount`` is what distinguishes high precision anyway.
    """

    currency_code: str
    cent_amount: int
    type: str = "centPrecision"
    fraction_digits: int | None = None
    precise_amount: int | None = None


class CtReference(CtStruct, Generic[T], frozen=True):
    """A ``{typeId, id}`` reference; ``obj`` holds the expanded resource when ``expand`` asked for it."""

    type_id: str
    id: str
    obj: T | None = None


class CtKeyReference(CtStruct, frozen=True):
    """A ``{typeId, key}`` reference (stores, business units); never expandable."""

    type_id: str
    key: str


class CtCustomFields(CtStruct, frozen=True):
    type: CtReference[CtType] | None = None
    fields: dict[str, object] = msgspec.field(default_factory=dict)


class CtEnumValue(CtStruct, frozen=True):
    key: str
    label: str | LocalizedString = ""


class CtFieldType(CtStruct, frozen=True):
    name: str
    values: list[CtEnumValue] = msgspec.field(default_factory=list)
    element_type: CtFieldType | None = None


class CtFieldDefinition(CtStruct, frozen=True):
    name: str
    label: LocalizedString = msgspec.field(default_factory=dict)
    type: CtFieldType | None = None


class CtType(CtStruct, frozen=True):
    id: str
    key: str | None = None
    field_definitions: list[CtFieldDefinition] = msgspec.field(default_factory=list)


class CtState(CtStruct, frozen=True):
    id: str
    key: str | None = None
    type: str | None = None
    name: LocalizedString | None = None


class CtItemState(CtStruct, frozen=True):
    quantity: int
    state: CtReference[CtState]


class CtTaxPortion(CtStruct, frozen=True):
    amount: CtMoney
    rate: float | None = None
    name: str | None = None


class CtTaxedPrice(CtStruct, frozen=True):
    total_net: CtMoney
    total_gross: CtMoney
    total_tax: CtMoney | None = None
    tax_portions: list[CtTaxPortion] = msgspec.field(default_factory=list)


class CtPrice(CtStruct, frozen=True):
    value: CtMoney
    id: str | None = None


class CtVariant(CtStruct, frozen=True):
    id: int | None = None
    sku: str | None = None
    key: str | None = None


class CtLineItem(CtStruct, frozen=True):
    id: str
    name: LocalizedString
    quantity: int
    price: CtPrice
    total_price: CtMoney
    product_id: str | None = None
    variant: CtVariant | None = None
    taxed_price: CtTaxedPrice | None = None
    state: list[CtItemState] = msgspec.field(default_factory=list)
    custom: CtCustomFields | None = None


class CtCustomLineItem(CtStruct, frozen=True):
    id: str
    name: LocalizedString
    quantity: int
    money: CtMoney
    total_price: CtMoney
    slug: str | None = None
    taxed_price: CtTaxedPrice | None = None
    state: list[CtItemState] = msgspec.field(default_factory=list)
    custom: CtCustomFields | None = None


class CtAddress(CtStruct, frozen=True):
    country: str
    id: str | None = None
    key: str | None = None
    title: str | None = None
    salutation: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    street_name: str | None = None
    street_number: str | None = None
    additional_street_info: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    state: str | None = None
    company: str | None = None
    department: str | None = None
    building: str | None = None
    apartment: str | None = None
    p_o_box: str | None = msgspec.field(default=None, name="pOBox")
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    additional_address_info: str | None = None


class CtTrackingData(CtStruct, frozen=True):
    tracking_id: str | None = None
    carrier: str | None = None
    provider: str | None = None
    provider_transaction: str | None = None
    is_return: bool = False


class CtDeliveryItem(CtStruct, frozen=True):
    id: str
    quantity: int


class CtParcel(CtStruct, frozen=True):
    id: str
    created_at: datetime | None = None
    tracking_data: CtTrackingData | None = None
    items: list[CtDeliveryItem] = msgspec.field(default_factory=list)


class CtDelivery(CtStruct, frozen=True):
    id: str
    created_at: datetime | None = None
    items: list[CtDeliveryItem] = msgspec.field(default_factory=list)
    parcels: list[CtParcel] = msgspec.field(default_factory=list)
    address: CtAddress | None = None


class CtShippingMethod(CtStruct, frozen=True):
    id: str
    name: str
    key: str | None = None
    localized_name: LocalizedString | None = None
    localized_description: LocalizedString | None = None


class CtShippingInfo(CtStruct, frozen=True):
    shipping_method_name: str
    price: CtMoney | None = None
    shipping_method: CtReference[CtShippingMethod] | None = None
    taxed_price: CtTaxedPrice | None = None
    deliveries: list[CtDelivery] = msgspec.field(default_factory=list)
    shipping_method_state: str | None = None


class CtShipping(CtStruct, frozen=True):
    """One entry of ``shipping[]`` on orders in ``Multiple`` shipping mode."""

    shipping_key: str
    shipping_info: CtShippingInfo
    shipping_address: CtAddress | None = None


class CtReturnItem(CtStruct, frozen=True):
    id: str
    quantity: int
    shipment_state: str
    payment_state: str
    type: str | None = None
    line_item_id: str | None = None
    custom_line_item_id: str | None = None
    comment: str | None = None
    created_at: datetime | None = None
    last_modified_at: datetime | None = None


class CtReturnInfo(CtStruct, frozen=True):
    items: list[CtReturnItem] = msgspec.field(default_factory=list)
    return_tracking_id: str | None = None
    return_date: datetime | None = None


class CtTransaction(CtStruct, frozen=True):
    id: str
    type: str
    amount: CtMoney
    state: str
    timestamp: datetime | None = None
    interaction_id: str | None = None


class CtPaymentMethodInfo(CtStruct, frozen=True):
    payment_interface: str | None = None
    method: str | None = None
    name: LocalizedString | None = None


class CtPaymentStatus(CtStruct, frozen=True):
    interface_code: str | None = None
    interface_text: str | None = None


class CtPayment(CtStruct, frozen=True):
    id: str
    amount_planned: CtMoney
    version: int | None = None
    key: str | None = None
    interface_id: str | None = None
    payment_method_info: CtPaymentMethodInfo = msgspec.field(default_factory=CtPaymentMethodInfo)
    payment_status: CtPaymentStatus = msgspec.field(default_factory=CtPaymentStatus)
    transactions: list[CtTransaction] = msgspec.field(default_factory=list)
    created_at: datetime | None = None


class CtPaymentInfo(CtStruct, frozen=True):
    payments: list[CtReference[CtPayment]] = msgspec.field(default_factory=list)


class CtCustomerGroup(CtStruct, frozen=True):
    id: str
    name: str
    key: str | None = None


class CtDiscountCode(CtStruct, frozen=True):
    id: str
    code: str


class CtDiscountCodeInfo(CtStruct, frozen=True):
    discount_code: CtReference[CtDiscountCode]
    state: str | None = None


class CtOrder(CtStruct, frozen=True):
    id: str
    version: int
    created_at: datetime
    last_modified_at: datetime
    order_state: str
    total_price: CtMoney
    order_number: str | None = None
    completed_at: datetime | None = None
    shipment_state: str | None = None
    payment_state: str | None = None
    state: CtReference[CtState] | None = None
    customer_id: str | None = None
    customer_email: str | None = None
    anonymous_id: str | None = None
    customer_group: CtReference[CtCustomerGroup] | None = None
    store: CtKeyReference | None = None
    locale: str | None = None
    country: str | None = None
    line_items: list[CtLineItem] = msgspec.field(default_factory=list)
    custom_line_items: list[CtCustomLineItem] = msgspec.field(default_factory=list)
    taxed_price: CtTaxedPrice | None = None
    shipping_mode: str = "Single"
    shipping_info: CtShippingInfo | None = None
    shipping: list[CtShipping] = msgspec.field(default_factory=list)
    shipping_address: CtAddress | None = None
    billing_address: CtAddress | None = None
    payment_info: CtPaymentInfo | None = None
    return_info: list[CtReturnInfo] = msgspec.field(default_factory=list)
    discount_codes: list[CtDiscountCodeInfo] = msgspec.field(default_factory=list)
    custom: CtCustomFields | None = None


class CtPagedOrders(CtStruct, frozen=True):
    results: list[CtOrder]
    limit: int | None = None
    offset: int | None = None
    count: int | None = None
    total: int | None = None


class CtCustomer(CtStruct, frozen=True):
    id: str
    version: int
    email: str
    created_at: datetime | None = None
    last_modified_at: datetime | None = None
    customer_number: str | None = None
    external_id: str | None = None
    key: str | None = None
    first_name: str | None = None
    middle_name: str | None = None
    last_name: str | None = None
    title: str | None = None
    salutation: str | None = None
    date_of_birth: str | None = None
    company_name: str | None = None
    locale: str | None = None
    addresses: list[CtAddress] = msgspec.field(default_factory=list)
    default_shipping_address_id: str | None = None
    default_billing_address_id: str | None = None
    shipping_address_ids: list[str] = msgspec.field(default_factory=list)
    billing_address_ids: list[str] = msgspec.field(default_factory=list)
    customer_group: CtReference[CtCustomerGroup] | None = None
    stores: list[CtKeyReference] = msgspec.field(default_factory=list)
    is_email_verified: bool = False
    custom: CtCustomFields | None = None


class CtPagedCustomers(CtStruct, frozen=True):
    results: list[CtCustomer]
    limit: int | None = None
    offset: int | None = None
    count: int | None = None
    total: int | None = None


class CtError(CtStruct, frozen=True):
    code: str
    message: str | None = None


class CtErrorResponse(CtStruct, frozen=True):
    """commercetools' error body; auth errors add OAuth-style ``error``/``error_description``."""

    status_code: int | None = None
    message: str | None = None
    errors: list[CtError] = msgspec.field(default_factory=list)
    error: str | None = None


class CtStore(CtStruct, frozen=True):
    id: str
    key: str
    name: LocalizedString | None = None
    languages: list[str] = msgspec.field(default_factory=list)
    countries: list[dict[str, str]] = msgspec.field(default_factory=list)


class CtChannel(CtStruct, frozen=True):
    id: str
    key: str
    roles: list[str] = msgspec.field(default_factory=list)
    name: LocalizedString | None = None


class CtResourceIdentifier(CtStruct, frozen=True):
    type_id: str
    id: str


class CtMessage(CtStruct, frozen=True):
    """The envelope every commercetools message shares; payload fields are read per ``type``."""

    id: str
    sequence_number: int
    resource: CtResourceIdentifier
    resource_version: int
    type: str
    created_at: datetime
    version: int = 1
    resource_user_provided_identifiers: dict[str, object] = msgspec.field(default_factory=dict)


class CtPagedMessages(CtStruct, frozen=True):
    results: list[CtMessage]
    limit: int | None = None
    offset: int | None = None
    count: int | None = None
    total: int | None = None


class CtPagedRawMessages(CtStruct, frozen=True):
    """A Messages API page whose messages stay raw JSON, for ``app.push.messages.decode_message``.

    The pusher decodes each message on its own, so one message of an unexpected shape costs that
    message, not the page. (``CtPagedMessages`` is the typed-envelope page of the fixture checks.)
    """

    results: list[msgspec.Raw]
    limit: int | None = None
    offset: int | None = None
    count: int | None = None
    total: int | None = None


class CtMessageDelivery(CtMessage, frozen=True):
    """A subscription delivery in Platform format: a message plus ``notificationType``/``projectKey``."""

    notification_type: str = "Message"
    project_key: str | None = None


class CtChangeDelivery(CtStruct, frozen=True):
    """A change-subscription delivery (``ResourceCreated|ResourceUpdated|ResourceDeleted``)."""

    notification_type: str
    resource: CtResourceIdentifier
    project_key: str | None = None
    version: int | None = None
    old_version: int | None = None
    modified_at: datetime | None = None


class CtPayloadNotIncluded(CtStruct, frozen=True):
    """Sent instead of a payload too large for the destination; the message must be fetched."""

    reason: str
    payload_type: str


class CtCloudEvent(msgspec.Struct, frozen=True, kw_only=True):
    """CloudEvents 1.0 envelope (its attribute names are lower-case, not camelCase)."""

    specversion: str
    id: str
    type: str
    source: str
    subject: str | None = None
    time: datetime | None = None
    sequence: str | None = None
    dataref: str | None = None
    data: CtMessageDelivery | None = None
