"""Which commercetools resources the sandbox serves, and how each is addressed, scoped and store-filtered."""

from collections.abc import Callable
from typing import Any, Final, NamedTuple

from app.sandbox.commercetools.auth import ScopeFamily

JsonObject = dict[str, Any]


def _order_in_store(order: JsonObject, store_key: str) -> bool:
    store = order.get("store")
    return isinstance(store, dict) and store.get("key") == store_key


def _customer_in_store(customer: JsonObject, store_key: str) -> bool:
    # commercetools: in-store customer endpoints "also consider customers that do not have the stores
    # field" (global customers, `stores` empty) and answer ResourceNotFound for customers whose
    # `stores` name other stores only. The sandbox follows that for gets and queries alike.
    stores = customer.get("stores") or []
    return not stores or any(store.get("key") == store_key for store in stores)


class ResourceSpec(NamedTuple):
    type_id: str
    scope: ScopeFamily
    # `{prefix}{value}` path segments that address a resource by another field than its id.
    identifiers: dict[str, str]
    # Present only for resources with `/in-store/key={storeKey}/…` endpoints.
    in_store: Callable[[JsonObject, str], bool] | None = None


RESOURCES: Final[dict[str, ResourceSpec]] = {
    "orders": ResourceSpec(
        "order", ScopeFamily("view_orders", "manage_orders"), {"order-number=": "orderNumber"}, _order_in_store
    ),
    "customers": ResourceSpec(
        "customer", ScopeFamily("view_customers", "manage_customers"), {"key=": "key"}, _customer_in_store
    ),
    "payments": ResourceSpec("payment", ScopeFamily("view_payments", "manage_payments"), {"key=": "key"}),
    "stores": ResourceSpec("store", ScopeFamily("view_stores", "manage_stores"), {"key=": "key"}),
    "states": ResourceSpec("state", ScopeFamily("view_states", "manage_states"), {"key=": "key"}),
    "types": ResourceSpec("type", ScopeFamily("view_types", "manage_types"), {"key=": "key"}),
    "shipping-methods": ResourceSpec(
        "shipping-method", ScopeFamily("view_shipping_methods", "manage_shipping_methods"), {"key=": "key"}
    ),
    "customer-groups": ResourceSpec(
        "customer-group", ScopeFamily("view_customer_groups", "manage_customer_groups"), {"key=": "key"}
    ),
    "channels": ResourceSpec("channel", ScopeFamily("view_channels", "manage_channels"), {"key=": "key"}),
    "discount-codes": ResourceSpec(
        "discount-code", ScopeFamily("view_discount_codes", "manage_discount_codes"), {"key=": "key"}
    ),
    # commercetools secures both message endpoints with `view_messages` alone (messages.raml); there is
    # no `manage_messages` scope, so `manage_project` is the only other scope that opens them.
    "messages": ResourceSpec("message", ScopeFamily("view_messages", "manage_project"), {}),
}
