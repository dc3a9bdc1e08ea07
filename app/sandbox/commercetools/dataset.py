"""The sandbox's data: commercetools resources as plain JSON objects, keyed by id, plus lookups.

Resources are stored exactly as the API returns them (camelCase dicts), so serving one is encoding it;
routes never build representations. The API only reads: every response that changes a resource
(expansion) works on a copy. The one writer is the simulator behind the `/__sandbox/…/messages` control
routes (`app.sandbox.commercetools.messages`), and it writes only through `replace` and `add_message`,
which remember enough for `restore` to bring back the seeded state in place (same objects, so anyone
holding the `Dataset` or a collection keeps seeing current data).
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
    # Never seeded: messages exist only once the simulator has changed an order or a payment.
    "message",
)


class Dataset:
    """All seeded resources of one project."""

    __slots__ = (
        "_by_type",
        "_customers_by_email",
        "_last_sequence_numbers",
        "_orders_by_number",
        "_originals",
        "project_key",
        "seed",
    )

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
        self._index_emails()
        # (typeId, id) -> the seeded representation of every resource changed since the last restore.
        self._originals: dict[tuple[str, str], JsonObject] = {}
        # resource id -> the highest message sequence number stored for it.
        self._last_sequence_numbers: dict[str, int] = {}

    def _index_emails(self) -> None:
        self._customers_by_email.clear()
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

    @property
    def messages(self) -> dict[str, JsonObject]:
        return self._by_type["message"]

    def last_sequence_number(self, resource: JsonObject) -> int:
        """The highest message sequence number of `resource` so far (0 when it has none).

        Seeded orders carry `lastMessageSequenceNumber` for the messages their history would have
        produced (long expired, as the Messages API keeps them 1-90 days); numbering continues from it.
        """
        seeded = resource.get("lastMessageSequenceNumber")
        stored = self._last_sequence_numbers.get(resource["id"], 0)
        return max(stored, seeded if isinstance(seeded, int) else 0)

    def replace(self, type_id: str, resource: JsonObject) -> None:
        """Make the stored resource with `resource["id"]` equal `resource`, in place.

        `id` and `orderNumber` must not change; a customer's `email` may (`changeEmail`).
        """
        stored = self._by_type[type_id][resource["id"]]
        self._originals.setdefault((type_id, resource["id"]), _copy(stored))
        email_changed = type_id == "customer" and stored.get("email") != resource.get("email")
        stored.clear()
        stored.update(resource)
        if email_changed:
            self._index_emails()

    def add_message(self, message: JsonObject) -> None:
        self.messages[message["id"]] = message
        resource_id = message["resource"]["id"]
        self._last_sequence_numbers[resource_id] = max(
            self._last_sequence_numbers.get(resource_id, 0), message["sequenceNumber"]
        )

    def restore(self) -> None:
        """Undo every `replace` and drop every message: the data is the seeded data again."""
        for (type_id, resource_id), original in self._originals.items():
            stored = self._by_type[type_id][resource_id]
            stored.clear()
            stored.update(original)
        self._originals.clear()
        self._index_emails()
        self.messages.clear()
        self._last_sequence_numbers.clear()

    def to_json(self) -> bytes:
        """Canonical encoding of every collection: equal bytes mean equal data."""
        return msgspec.json.encode(
            {type_id: list(self._by_type[type_id].values()) for type_id in TYPE_IDS}, order="sorted"
        )


def _copy(resource: JsonObject) -> JsonObject:
    copy: JsonObject = msgspec.json.decode(msgspec.json.encode(resource))
    return copy
