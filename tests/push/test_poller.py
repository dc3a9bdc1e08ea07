"""The Messages API poller against the commercetools sandbox (in-process ASGI) and real SQLite storage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.commercetools.client import CommercetoolsClient
from app.errors import GatewayError
from app.mapping.loader import load_mappings
from app.mapping.schema import PollRules
from app.push.intake import QueuedMessage, accept_delivery, decode_queued
from app.push.messages import decode_delivery, decode_message
from app.push.poller import Poller
from app.sandbox.commercetools import create_commercetools_sandbox
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER, US_ORDER_NUMBER
from app.storage.factory import open_storage
from app.storage.ports import Storage
from tests.support import settings_for

SANDBOX = "http://commercetools.test"
_PUSH = load_mappings(Path(__file__).resolve().parents[2] / "mappings").push
assert _PUSH is not None
PUSH = _PUSH


class Setup:
    def __init__(
        self, sandbox: Litestar, control: AsyncTestClient[Litestar], client: CommercetoolsClient, storage: Storage
    ) -> None:
        self.sandbox = sandbox
        self.control = control
        self.client = client
        self.storage = storage

    def poller(self, rules: PollRules | None = None, **kwargs: Any) -> Poller:
        assert PUSH is not None
        return Poller(
            source=self.client,
            queue=self.storage.queue,
            cursors=self.storage.cursors,
            rules=rules or PUSH.poll,
            **kwargs,
        )

    async def change(self, order_number: str, *payloads: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self.control.post(
            f"/__sandbox/orders/order-number={order_number}/messages", json=list(payloads)
        )
        assert response.status_code == 201, response.text
        created: list[dict[str, Any]] = response.json()
        return created

    async def queued_message_ids(self) -> list[str]:
        ids = []
        while deliveries := await self.storage.queue.receive("probe", max_count=100):
            for delivery in deliveries:
                event = decode_queued(delivery.payload)
                assert isinstance(event, QueuedMessage)
                ids.append(decode_message(event.message).id)
                await self.storage.queue.ack(delivery.entry_id)
        return ids


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    sandbox = create_commercetools_sandbox()
    # Litestar's __call__ is typed narrower than httpx's generic ASGI callable; it is one.
    transport = httpx.ASGITransport(app=sandbox)  # type: ignore[arg-type]
    client = CommercetoolsClient(settings_for(SANDBOX).commercetools, transport=transport)
    storage = await open_storage(redis_url=None, data_dir=str(tmp_path))
    async with AsyncTestClient(sandbox) as control:
        try:
            yield Setup(sandbox, control, client, storage)
        finally:
            await client.aclose()
            await storage.aclose()


async def test_a_poll_queues_new_messages_of_its_channel_once_and_moves_the_cursor(setup: Setup) -> None:
    created = await setup.change(
        DEMO_ORDER_NUMBER,
        {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"},
        {"type": "OrderStateChanged", "orderState": "Complete"},
    )
    first = await setup.poller().poll("orders")
    assert (first.seen, first.queued) == (2, 2)
    assert first.cursor is not None
    assert datetime.fromisoformat(first.cursor) == max(datetime.fromisoformat(m["createdAt"]) for m in created)
    # The overlap re-reads both: the queue knows them, nothing is queued twice.
    second = await setup.poller().poll("orders")
    assert (second.seen, second.queued, second.cursor) == (2, 0, first.cursor)
    assert sorted(await setup.queued_message_ids()) == sorted(m["id"] for m in created)


async def test_a_channel_reads_only_its_message_types(setup: Setup) -> None:
    await setup.change(DEMO_ORDER_NUMBER, {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"})
    result = await setup.poller().poll("payments")
    assert (result.seen, result.queued) == (0, 0)


async def test_a_message_older_than_the_window_is_not_replayed_on_the_first_poll(setup: Setup) -> None:
    await setup.change(DEMO_ORDER_NUMBER, {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"})
    later = datetime.now(UTC) + timedelta(hours=1)
    result = await setup.poller(now=lambda: later).poll("orders")
    assert result.seen == 0  # history before the gateway's first poll is `ctnm backfill`'s job


async def test_pages_are_followed_past_five_hundred_messages(setup: Setup) -> None:
    for _ in range(2):  # the control route takes at most 500 payloads per call
        await setup.change(
            US_ORDER_NUMBER,
            *(
                {"type": "OrderShipmentStateChanged", "shipmentState": state}
                for state in ["Shipped", "Delivered"] * 165
            ),
        )
    result = await setup.poller().poll("orders")
    assert (result.seen, result.queued) == (660, 660)


async def test_two_pollers_at_once_queue_each_message_once(setup: Setup) -> None:
    created = await setup.change(
        DEMO_ORDER_NUMBER, *({"type": "OrderPaymentStateChanged", "paymentState": "Paid"} for _ in range(40))
    )
    results = await asyncio.gather(setup.poller().poll("orders"), setup.poller().poll("orders"))
    assert sum(r.queued for r in results) == 40
    assert sorted(await setup.queued_message_ids()) == sorted(m["id"] for m in created)
    cursor = await setup.storage.cursors.get("poll:orders")
    assert cursor is not None
    assert datetime.fromisoformat(cursor) == max(datetime.fromisoformat(m["createdAt"]) for m in created)


async def test_commercetools_down_keeps_the_cursor(setup: Setup) -> None:
    await setup.change(DEMO_ORDER_NUMBER, {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"})
    fault = {"pathContains": "/messages", "status": 503, "times": 20}
    assert (await setup.control.post("/__sandbox/faults", json=fault)).status_code == 201
    stop = asyncio.Event()
    rules = msgspec.structs.replace(PUSH.poll, channels={"orders": PUSH.poll.channels["orders"]})
    poller = setup.poller(rules)
    poll = poller.poll
    failed = asyncio.Event()

    async def watched_poll(name: str) -> Any:
        try:
            return await poll(name)
        except GatewayError:
            failed.set()  # the event this test needs: a poll ran into the outage and gave up
            raise

    poller.poll = watched_poll  # type: ignore[method-assign]
    task = asyncio.create_task(poller.run(stop))
    await asyncio.wait_for(failed.wait(), timeout=60)  # the timeout only stops a hang
    stop.set()
    await asyncio.wait_for(task, timeout=10)
    assert await setup.storage.cursors.get("poll:orders") is None
    assert (await setup.storage.queue.stats()).ready == 0


async def test_a_message_that_came_by_subscription_is_not_queued_again_by_the_poller(setup: Setup) -> None:
    [created] = await setup.change(
        DEMO_ORDER_NUMBER, {"type": "OrderShipmentStateChanged", "shipmentState": "Delivered"}
    )
    pushed = await accept_delivery(setup.storage.queue, decode_delivery(json.dumps(created).encode()))
    assert pushed.outcome == "queued"
    polled = await setup.poller().poll("orders")
    assert (polled.seen, polled.queued) == (1, 0)
    assert await setup.queued_message_ids() == [created["id"]]
