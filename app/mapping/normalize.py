"""Pure normalization: commercetools wire Structs + market rules -> views.

The only module where ``Ct*`` types meet view types. Total by construction: every decodable
order yields a view (missing optional parts become ``None`` or empty lists), which the property
tests check over generated orders.
"""

from __future__ import annotations

from datetime import datetime

from app.commercetools.models import CtCustomLineItem, CtItemState, CtLineItem, CtOrder, CtTaxedPrice
from app.mapping.markets import Market, localize, resolve_market
from app.mapping.money import to_money
from app.mapping.schema import MarketsFile
from app.views import (
    CustomLineItemView,
    LineItemStateView,
    LineItemView,
    OrderView,
    TaxedPriceView,
    TaxPortionView,
)

__all__ = ["normalize_order"]


def _states(states: list[CtItemState], market: Market) -> list[LineItemStateView]:
    views = []
    for item_state in states:
        state = item_state.state.obj
        label = None
        if state is not None:
            label = localize(state.name, market.locale_chain) or state.key
        views.append(LineItemStateView(quantity=item_state.quantity, state_id=item_state.state.id, state=label))
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


def normalize_order(order: CtOrder, markets: MarketsFile, *, fetched_at: datetime) -> OrderView:
    store_key = order.store.key if order.store else None
    market = resolve_market(markets, store_key, order.locale, order.country)
    return OrderView(
        id=order.id,
        order_number=order.order_number,
        store=store_key,
        locale=market.locale,
        country=order.country,
        time_zone=market.time_zone,
        created_at=order.created_at,
        order_state=order.order_state,
        shipment_state=order.shipment_state,
        payment_state=order.payment_state,
        customer_id=order.customer_id,
        line_items=[_line_item(item, market) for item in order.line_items],
        custom_line_items=[_custom_line_item(item, market) for item in order.custom_line_items],
        total_price=to_money(order.total_price, market.locale),
        taxed_price=_taxed_price(order.taxed_price, market),
        fetched_at=fetched_at,
    )
