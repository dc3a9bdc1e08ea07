"""Pure normalization: commercetools wire Structs + view rules -> views.

The only module where ``Ct*`` types meet view types. Total by construction: every decodable
order or customer yields a view (missing optional parts become ``None`` or empty lists, an
unexpanded reference keeps its id), which the property tests check over generated inputs.
A view is rendered in one market only: its locale, currency formatting and time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from app.commercetools.models import (
    CtAddress,
    CtCustomer,
    CtCustomerGroup,
    CtCustomLineItem,
    CtDelivery,
    CtDeliveryItem,
    CtItemState,
    CtLineItem,
    CtOrder,
    CtPayment,
    CtReference,
    CtShippingInfo,
    CtTaxedPrice,
)
from app.mapping.custom_fields import render_custom_fields
from app.mapping.markets import Market, localize, resolve_market
from app.mapping.money import babel_locale, to_money
from app.mapping.rules import ViewRules
from app.views import (
    AddressView,
    CustomerGroupView,
    CustomerView,
    CustomLineItemView,
    DeliveryView,
    DiscountCodeView,
    ItemQuantityView,
    LineItemStateView,
    LineItemView,
    OrderSummary,
    OrderView,
    ParcelView,
    PaymentView,
    ReturnItemView,
    ReturnView,
    ShippingMethodView,
    TaxedPriceView,
    TaxPortionView,
    TransactionView,
    WorkflowStateView,
)

__all__ = ["normalize_customer", "normalize_order", "order_market", "summarize_order"]


def order_market(order: CtOrder, rules: ViewRules) -> Market:
    return resolve_market(rules.markets, order.store.key if order.store else None, order.locale, order.country)


def _states(states: list[CtItemState], market: Market) -> list[LineItemStateView]:
    views = []
    for item_state in states:
        state = item_state.state.obj
        views.append(
            LineItemStateView(
                quantity=item_state.quantity,
                state_id=item_state.state.id,
                state_key=state.key if state else None,
                state=(localize(state.name, market.locale_chain) or state.key) if state else None,
            )
        )
    return views


def _line_item(item: CtLineItem, market: Market) -> LineItemView:
    return LineItemView(
        id=item.id,
        name=localize(item.name, market.locale_chain),
        sku=item.variant.sku if item.variant else None,
        quantity=item.quantity,
        unit_price=to_money(item.price.value, market.locale),
        total_price=to_money(item.total_price, market.locale),
        states=_states(item.state, market),
    )


def _custom_line_item(item: CtCustomLineItem, market: Market) -> CustomLineItemView:
    return CustomLineItemView(
        id=item.id,
        name=localize(item.name, market.locale_chain),
        slug=item.slug,
        quantity=item.quantity,
        unit_price=to_money(item.money, market.locale),
        total_price=to_money(item.total_price, market.locale),
        states=_states(item.state, market),
    )


def _taxed_price(taxed: CtTaxedPrice | None, market: Market) -> TaxedPriceView | None:
    if taxed is None:
        return None
    return TaxedPriceView(
        total_net=to_money(taxed.total_net, market.locale),
        total_gross=to_money(taxed.total_gross, market.locale),
        total_tax=to_money(taxed.total_tax, market.locale) if taxed.total_tax else None,
        tax_portions=[
            TaxPortionView(amount=to_money(p.amount, market.locale), rate=p.rate, name=p.name)
            for p in taxed.tax_portions
        ],
    )


def _address(
    address: CtAddress | None, *, default_shipping: bool = False, default_billing: bool = False
) -> AddressView | None:
    if address is None:
        return None
    return AddressView(
        country=address.country,
        id=address.id,
        title=address.title,
        salutation=address.salutation,
        first_name=address.first_name,
        last_name=address.last_name,
        company=address.company,
        street_name=address.street_name,
        street_number=address.street_number,
        additional_street_info=address.additional_street_info,
        postal_code=address.postal_code,
        city=address.city,
        region=address.region,
        state=address.state,
        phone=address.phone,
        mobile=address.mobile,
        email=address.email,
        default_shipping=default_shipping,
        default_billing=default_billing,
    )


def _shipping_method(info: CtShippingInfo, market: Market, shipping_key: str | None = None) -> ShippingMethodView:
    method = info.shipping_method.obj if info.shipping_method else None
    name = info.shipping_method_name
    if method is not None and method.localized_name:
        name = localize(method.localized_name, market.locale_chain) or name
    return ShippingMethodView(
        name=name,
        id=info.shipping_method.id if info.shipping_method else None,
        key=method.key if method else None,
        description=localize(method.localized_description, market.locale_chain) or None if method else None,
        price=to_money(info.price, market.locale) if info.price else None,
        shipping_key=shipping_key,
    )


def _quantities(items: Iterable[CtDeliveryItem], names: dict[str, str]) -> list[ItemQuantityView]:
    return [ItemQuantityView(item_id=i.id, quantity=i.quantity, name=names.get(i.id)) for i in items]


def _delivery(delivery: CtDelivery, names: dict[str, str], rules: ViewRules, shipping_key: str | None) -> DeliveryView:
    parcels = []
    for parcel in delivery.parcels:
        tracking = parcel.tracking_data
        parcels.append(
            ParcelView(
                id=parcel.id,
                created_at=parcel.created_at,
                tracking_id=tracking.tracking_id if tracking else None,
                carrier=tracking.carrier if tracking else None,
                provider=tracking.provider if tracking else None,
                tracking_url=rules.tracking_url(tracking.carrier, tracking.tracking_id) if tracking else None,
                is_return=tracking.is_return if tracking else False,
                items=_quantities(parcel.items, names),
            )
        )
    return DeliveryView(
        id=delivery.id,
        created_at=delivery.created_at,
        items=_quantities(delivery.items, names),
        parcels=parcels,
        shipping_key=shipping_key,
    )


def _payment(payment: CtPayment, market: Market) -> PaymentView:
    info = payment.payment_method_info
    return PaymentView(
        id=payment.id,
        amount_planned=to_money(payment.amount_planned, market.locale),
        method=info.method,
        method_name=localize(info.name, market.locale_chain) or None,
        provider=info.payment_interface,
        interface_id=payment.interface_id,
        status_code=payment.payment_status.interface_code,
        status_text=payment.payment_status.interface_text,
        transactions=[
            TransactionView(
                id=t.id,
                type=t.type,
                state=t.state,
                amount=to_money(t.amount, market.locale),
                timestamp=t.timestamp,
                interaction_id=t.interaction_id,
            )
            for t in payment.transactions
        ],
    )


def _customer_group(ref: CtReference[CtCustomerGroup] | None) -> CustomerGroupView | None:
    if ref is None:
        return None
    return CustomerGroupView(id=ref.id, key=ref.obj.key if ref.obj else None, name=ref.obj.name if ref.obj else None)


def normalize_order(order: CtOrder, rules: ViewRules, *, fetched_at: datetime) -> OrderView:
    market = order_market(order, rules)
    store_key = order.store.key if order.store else None
    names = {item.id: localize(item.name, market.locale_chain) for item in order.line_items}
    names |= {item.id: localize(item.name, market.locale_chain) for item in order.custom_line_items}

    shipping_methods: list[ShippingMethodView] = []
    deliveries: list[DeliveryView] = []
    if order.shipping_info is not None:
        shipping_methods.append(_shipping_method(order.shipping_info, market))
        deliveries += [_delivery(d, names, rules, None) for d in order.shipping_info.deliveries]
    for shipping in order.shipping:
        shipping_methods.append(_shipping_method(shipping.shipping_info, market, shipping.shipping_key))
        deliveries += [_delivery(d, names, rules, shipping.shipping_key) for d in shipping.shipping_info.deliveries]

    state = order.state
    return OrderView(
        id=order.id,
        order_number=order.order_number,
        store=store_key,
        locale=market.locale,
        country=order.country,
        time_zone=market.time_zone,
        created_at=order.created_at,
        last_modified_at=order.last_modified_at,
        completed_at=order.completed_at,
        order_state=order.order_state,
        shipment_state=order.shipment_state,
        payment_state=order.payment_state,
        state=WorkflowStateView(
            id=state.id,
            key=state.obj.key if state.obj else None,
            name=(localize(state.obj.name, market.locale_chain) or state.obj.key) if state.obj else None,
        )
        if state
        else None,
        customer_id=order.customer_id,
        customer_email=order.customer_email,
        customer_group=_customer_group(order.customer_group),
        line_items=[_line_item(item, market) for item in order.line_items],
        custom_line_items=[_custom_line_item(item, market) for item in order.custom_line_items],
        shipping_method=shipping_methods[0] if len(shipping_methods) == 1 else None,
        shipping_methods=shipping_methods,
        shipping_address=_address(order.shipping_address),
        billing_address=_address(order.billing_address),
        deliveries=deliveries,
        returns=[
            ReturnView(
                return_tracking_id=info.return_tracking_id,
                return_date=info.return_date,
                items=[
                    ReturnItemView(
                        id=item.id,
                        quantity=item.quantity,
                        shipment_state=item.shipment_state,
                        payment_state=item.payment_state,
                        item_id=item.line_item_id or item.custom_line_item_id,
                        name=names.get(item.line_item_id or item.custom_line_item_id or ""),
                        comment=item.comment,
                        created_at=item.created_at,
                    )
                    for item in info.items
                ],
            )
            for info in order.return_info
        ],
        payments=[
            _payment(ref.obj, market)
            for ref in (order.payment_info.payments if order.payment_info else [])
            if ref.obj is not None
        ],
        discount_codes=[
            DiscountCodeView(
                id=d.discount_code.id, code=d.discount_code.obj.code if d.discount_code.obj else None, state=d.state
            )
            for d in order.discount_codes
        ],
        total_price=to_money(order.total_price, market.locale),
        taxed_price=_taxed_price(order.taxed_price, market),
        custom=render_custom_fields(order.custom, rules.order_fields, store_key, market),
        links=[],
        fetched_at=fetched_at,
    )


def summarize_order(order: CtOrder, rules: ViewRules) -> OrderSummary:
    market = order_market(order, rules)
    return OrderSummary(
        id=order.id,
        order_number=order.order_number,
        store=order.store.key if order.store else None,
        locale=market.locale,
        created_at=order.created_at,
        order_state=order.order_state,
        shipment_state=order.shipment_state,
        payment_state=order.payment_state,
        total_price=to_money(order.total_price, market.locale),
        item_count=sum(i.quantity for i in order.line_items) + sum(i.quantity for i in order.custom_line_items),
        customer_id=order.customer_id,
        customer_email=order.customer_email,
    )


def _date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def customer_market(customer: CtCustomer, rules: ViewRules) -> Market:
    store_key = customer.stores[0].key if len(customer.stores) == 1 else None
    if customer.locale and babel_locale(customer.locale).language == customer.locale.split("-")[0].lower():
        # The customer's own language wins; the store (if unambiguous) still sets the clock.
        market = resolve_market(rules.markets, None, customer.locale, None)
        if store_key and store_key in rules.markets.stores:
            return Market(market.locale, market.locale_chain, rules.markets.stores[store_key].time_zone)
        return market
    return resolve_market(rules.markets, store_key, None, None)


def normalize_customer(
    customer: CtCustomer,
    rules: ViewRules,
    *,
    recent_orders: list[CtOrder] | None = None,
    order_count: int | None = None,
    fetched_at: datetime | None = None,
) -> CustomerView:
    market = customer_market(customer, rules)
    phones: dict[str, None] = {}
    for address in customer.addresses:
        for number in (address.phone, address.mobile):
            if number:
                phones.setdefault(number, None)
    addresses = [
        _address(
            a,
            default_shipping=a.id is not None and a.id == customer.default_shipping_address_id,
            default_billing=a.id is not None and a.id == customer.default_billing_address_id,
        )
        for a in customer.addresses
    ]
    store_key = customer.stores[0].key if len(customer.stores) == 1 else None
    return CustomerView(
        id=customer.id,
        email=customer.email,
        locale=market.locale,
        stores=[s.key for s in customer.stores],
        customer_number=customer.customer_number,
        external_id=customer.external_id,
        title=customer.title,
        salutation=customer.salutation,
        first_name=customer.first_name,
        middle_name=customer.middle_name,
        last_name=customer.last_name,
        company_name=customer.company_name,
        date_of_birth=_date(customer.date_of_birth),
        email_verified=customer.is_email_verified,
        phones=list(phones),
        addresses=[a for a in addresses if a is not None],
        customer_group=_customer_group(customer.customer_group),
        custom=render_custom_fields(customer.custom, rules.customer_fields, store_key, market),
        created_at=customer.created_at,
        order_count=order_count,
        recent_orders=[summarize_order(o, rules) for o in recent_orders or []],
        fetched_at=fetched_at,
    )
