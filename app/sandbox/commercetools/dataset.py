"""The sandbox's data: commercetools resources as plain JSON objects, keyed by id, plus lookups.

Resources are stored exactly as the API returns them (camelCase dicts), so serving one is encoding it;
routes never build representations. Treat the collections as read-only: the sandbox serves reads only,
and every response that changes a resource (expansion) works on a copy.
"""

from collections.abc import Iterable
from typing import Any, Final

import msgspec

JsonObject = dict[str, Any]

# commercetools `typeId` values, in the order collections are encoded.
TYPE_IDS: Final = (
    "store",
    "channel",
    "type",
    "state",
    "customer-group",
    "shipping-method",
    "discount-code",
    "customer",
    "payment",
    "order",
)


class Dataset:
    """All seeded resources of one project."""

    __slots__ = ("_by_type", "_customers_by_email", "_orders_by_number", "project_key", "seed")

    def __init__(self, project_key: str, seed: int, collections: dict[str, Iterable[JsonObject]]) -> None:
        missing = set(TYPE_IDS) - set(collections)
        if missing:
            raise ValueError(f"collections missing: {sorted(missing)}")
        self.project_key = project_key
        self.seed = seed
        self._by_type: dict[str, dict[str, JsonObject]] = {
            type_id: {resource["id"]: resource for resource in collections[type_id]} for type_id in TYPE_IDS
        }
        self._orders_by_number = {
            order["orderNumber"]: order for order in self.orders.values() if "orderNumber" in order
        }
        self._customers_by_email: dict[str, list[JsonObject]] = {}
        for customer in self.customers.values():
            self._customers_by_email.setdefault(customer["email"], []).append(customer)

    def collection(self, type_id: str) -> dict[str, JsonObject]:
        """Resources of one `typeId`, keyed by id, in creation order. Raises KeyError for unknown types."""
        return self._by_type[type_id]

    def get(self, type_id: str, resource_id: str) -> JsonObject | None:
        """Resolve a Reference `{typeId, id}`."""
        return self._by_type.get(type_id, {}).get(resource_id)

    def by_key(self, type_id: str, key: str) -> JsonObject | None:
        return next((resource for resource in self._by_type[type_id].values() if resource.get("key") == key), None)

    @property
    def orders(self) -> dict[str, JsonObject]:
        return self._by_type["order"]

    @property
    def customers(self) -> dict[str, JsonObject]:
        return self._by_type["customer"]

    @property
    def payments(self) -> dict[str, JsonObject]:
        return self._by_type["payment"]

    @property
    def stores(self) -> dict[str, JsonObject]:
        return self._by_type["store"]

    @property
    def states(self) -> dict[str, JsonObject]:
        return self._by_type["state"]

    def order_by_number(self, order_number: str) -> JsonObject | None:
        return self._orders_by_number.get(order_number)

    def customers_with_email(self, email: str) -> list[JsonObject]:
        """Exact match, as commercetools' `where=email="…"` (several when stores register the same email)."""
        return list(self._customers_by_email.get(email, ()))

    def orders_of_customer(self, customer_id: str) -> list[JsonObject]:
        return [order for order in self.orders.values() if order.get("customerId") == customer_id]

    def orders_with_email(self, email: str) -> list[JsonObject]:
        return [order for order in self.orders.values() if order.get("customerEmail") == email]

    def to_json(self) -> bytes:
        """Canonical encoding of every collection: equal bytes mean equal data."""
        return msgspec.json.encode(
            {type_id: list(self._by_type[type_id].values()) for type_id in TYPE_IDS}, order="sorted"
        )
