"""Out-of-order scenarios the proofs found wrong, pinned deterministically.

**A late message took the ticket back behind a re-read.** Found by the SIGKILL and redelivery proofs
against the pusher of this working tree's earlier state (marks held only the sequence number): message 1
of an order arrives first (a gap: the order is re-read and its *final* state written), message 2 is next
in line and was applied, writing its older shipment state; message 4 is a gap again, so the order was
re-read again, at the same version, which renders the same idempotency keys
(``snapshot:{orderId}:{orderVersion}`` in app/push/effects.py) as the first re-read: the worker found
them done and wrote nothing, and the ticket kept ``Delayed`` although the order says ``Delivered``.
The version-aware mark (``<sequence>@<version>`` in app/push/worker.py) now drops message 2 as covered
by the re-read, so the second gap never happens.
"""

from __future__ import annotations

import random

import httpx
import pytest

from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    STATE_FIELDS,
    Backend,
    JsonObject,
    NovomindSim,
    OrderStream,
    candidate_orders,
    change_order,
    encode_delivery,
    random_change,
    running_pusher,
    seed,
    settings_of,
    wait_drained,
)

pytestmark = pytest.mark.integration

CHANGES: list[JsonObject] = [
    {"type": "OrderShipmentStateChanged", "shipmentState": "Shipped"},
    {"type": "OrderShipmentStateChanged", "shipmentState": "Delayed"},
    {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
    {"type": "OrderStateChanged", "orderState": "Complete"},
]


@pytest.mark.parametrize("primed", [False, True], ids=["first-seen", "primed"])
async def test_messages_arriving_1_2_4_3_leave_the_ticket_with_the_orders_latest_state(
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    backend: Backend,
    store: Storage,
    env: dict[str, str],
    primed: bool,
) -> None:
    [order] = candidate_orders(sandbox.state.dataset, 1)
    stream = OrderStream(order["id"], order["orderNumber"], 750001)
    await seed(store, novomind, [stream])
    settings = settings_of(env, lease_seconds=30)
    async with (
        httpx.AsyncClient(base_url=sandbox.url, timeout=30) as client,
        running_pusher(settings, store, workers=1),
    ):
        if primed:  # the gateway has seen the order before: its mark is set, message 1 is next in line
            [primer] = await change_order(client, order["id"], [random_change(random.Random(1))])
            await accept_delivery(store.queue, decode_delivery(encode_delivery(primer, "platform")))
            await wait_drained(store, timeout=10)
        m1, m2, m3, m4 = stream.messages = await change_order(client, order["id"], CHANGES)
        for message in (m1, m2, m4, m3):
            await accept_delivery(store.queue, decode_delivery(encode_delivery(message, "platform")))
            await wait_drained(store, timeout=10)

    ledger = await novomind.ledger()
    ticket = ledger.storage_of(stream.ticket_id)
    latest = sandbox.state.dataset.orders[order["id"]]
    assert (latest["shipmentState"], latest["orderState"]) == ("Delivered", "Complete")
    assert {field: ticket.get(field) for _, field in STATE_FIELDS} == {
        field: latest.get(name) for name, field in STATE_FIELDS
    }
    assert all(counts["applied"] == 1 for counts in ledger.effects.values() if counts["applied"])
    assert await store.queue.dead_letters() == []
