"""GET /v1/tickets/{ticketId}/pushes: a ticket's push history as agents see it, under the store rules
and the one paging model of every list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Final

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api.paging import encode_cursor
from app.asgi import create_app
from app.storage.ports import PushRecord, Storage
from tests.support import auth, settings_for

PUSHES: Final = "/v1/tickets/{}/pushes"
AT: Final = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def record(number: int, *, store: str | None = "de-store", ticket: str = "100042") -> PushRecord:
    return PushRecord(
        ticket_id=ticket,
        key=f"k-{number}",
        order_id=f"order-{number}",
        order_number=f"DE-{number}",
        store=store,
        change_kind="shipment-state",
        state="Shipped",
        write="memo",
        text=f"Bestellung DE-{number} wurde versandt.",
        outcome="delivered",
        at=AT + timedelta(minutes=number),
        attempts=1,
        message_id=f"m-{number}",
    )


@pytest.fixture
async def gateway() -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings_for("http://commercetools.invalid"), push=False)
    async with AsyncTestClient(app) as client:
        yield client


def _storage(client: AsyncTestClient[Litestar]) -> Storage:
    storage: Storage = client.app.state.services.storage
    return storage


async def test_the_history_is_newest_first_in_the_agreed_shape(gateway: AsyncTestClient[Litestar]) -> None:
    await _storage(gateway).history.record([record(1), record(2)], keep=50)
    dead = PushRecord(
        **{
            **{f: getattr(record(3), f) for f in record(3).__struct_fields__},
            "outcome": "dead-lettered",
            "write": "storage+memo",
            "dead_letter_id": "00000000000000000009",
            "reason": "novomind does not know the ticket",
            "key": "dead:00000000000000000009",
        }
    )
    await _storage(gateway).history.record([dead], keep=50)

    answer = await gateway.get(PUSHES.format("T-100042"), headers=auth())

    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["next"] is None
    assert body["items"][0] == {
        "ticketId": "100042",
        "orderId": "order-3",
        "orderNumber": "DE-3",
        "changeKind": "shipment-state",
        "write": "storage+memo",
        "text": "Bestellung DE-3 wurde versandt.",
        "outcome": "dead-lettered",
        "at": "2026-06-01T08:03:00Z",
        "attempts": 1,
        "deadLetterId": "00000000000000000009",
        "reason": "novomind does not know the ticket",
        "state": "Shipped",
    }
    assert [(i["orderId"], i["outcome"], i["deadLetterId"], i["reason"]) for i in body["items"][1:]] == [
        ("order-2", "delivered", None, None),
        ("order-1", "delivered", None, None),
    ]


async def test_a_ticket_without_history_is_an_empty_page(gateway: AsyncTestClient[Litestar]) -> None:
    answer = await gateway.get(PUSHES.format("100099"), headers=auth())
    assert (answer.status_code, answer.json()) == (200, {"items": [], "next": None})


async def test_entries_of_stores_the_caller_may_not_see_are_left_out(gateway: AsyncTestClient[Litestar]) -> None:
    stores = ["de-store", "us-store", None, "de-store", "us-store", "de-store"]
    await _storage(gateway).history.record([record(n, store=s) for n, s in enumerate(stores)], keep=50)

    def orders(answer_items: list[dict[str, str]]) -> list[str]:
        return [item["orderId"] for item in answer_items]

    de = await gateway.get(PUSHES.format("100042"), headers=auth(stores=("de-store",)))
    everything = await gateway.get(PUSHES.format("100042"), headers=auth(stores=("*",)))
    other = await gateway.get(PUSHES.format("100042"), headers=auth(stores=("fr-store",)))

    assert orders(de.json()["items"]) == ["order-5", "order-3", "order-0"]
    assert orders(everything.json()["items"]) == [f"order-{n}" for n in range(5, -1, -1)]
    assert other.json() == {"items": [], "next": None}


async def test_the_scope_is_orders_read(gateway: AsyncTestClient[Litestar]) -> None:
    assert (await gateway.get(PUSHES.format("100042"), headers=auth(("customers:read",)))).status_code == 403
    assert (await gateway.get(PUSHES.format("100042"))).status_code == 401


async def test_a_cursor_of_another_list_is_refused(gateway: AsyncTestClient[Litestar]) -> None:
    answer = await gateway.get(
        PUSHES.format("100042"), params={"cursor": encode_cursor("dead-letters", "1")}, headers=auth()
    )
    assert answer.status_code == 422  # what every list answers to a cursor it did not give out
    assert "cursor" in answer.json()["detail"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    stores=st.lists(st.sampled_from(["de-store", "us-store"]), min_size=0, max_size=14),
    limit=st.integers(1, 5),
)
async def test_paging_visits_every_visible_entry_once_newest_first(stores: list[str], limit: int) -> None:
    app = create_app(settings_for("http://commercetools.invalid"), push=False)
    async with AsyncTestClient(app) as client:
        await _storage(client).history.record([record(n, store=s) for n, s in enumerate(stores)], keep=50)
        seen: list[str] = []
        cursor: str | None = None
        for _ in range(len(stores) + 2):
            params = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            body = (await client.get(PUSHES.format("100042"), params=params, headers=auth(stores=("de-store",)))).json()
            assert len(body["items"]) <= limit
            seen += [item["orderId"] for item in body["items"]]
            cursor = body["next"]
            if cursor is None:
                break
            assert len(body["items"]) == limit, "a page before the last is full"
        expected = [f"order-{n}" for n in range(len(stores) - 1, -1, -1) if stores[n] == "de-store"]
        assert seen == expected
