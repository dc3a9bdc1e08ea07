"""The push worker end to end in one process: real SQLite storage, the real novomind sandbox (ASGI),
a commercetools order source held in memory. Each test drives the queue and reads the sandbox."""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from app.commercetools.models import CtOrder
from app.errors import NotFoundError, RetriableError
from app.mapping.loader import Mappings, load_mappings
from app.mapping.rules import ViewRules
from app.novomind.client import NovomindClient
from app.push.dead_letters import DeadLetterService
from app.push.intake import accept_delivery, to_new_event
from app.push.messages import decode_delivery
from app.push.worker import Mark, Outcome, PushWorker, WorkerOptions
from app.sandbox.faults import Fault
from app.sandbox.novomind import NovomindSandboxConfig, create_novomind_sandbox
from app.sandbox.novomind.config import SeedContact, SeedTicket
from app.settings import NovomindSettings, Secret
from app.storage.factory import open_storage
from app.storage.ports import Delivery, Link, Storage
from app.storage.redis_backend import RedisStorage
from app.storage.sqlite_backend import SqliteStorage
from tests.push.payloads import ORDER_ID, PAYMENT_ID, message, platform

MAPPINGS = load_mappings(Path(__file__).resolve().parents[2] / "mappings")
TICKET = 500001
OTHER_TICKET = 500002


def _order(**overrides: Any) -> CtOrder:
    document = {
        "id": ORDER_ID,
        "version": 12,
        "orderNumber": "ON-1001",
        "createdAt": "2024-05-01T09:00:00.000Z",
        "lastModifiedAt": "2024-05-01T10:00:00.000Z",
        "totalPrice": {"type": "centPrecision", "centAmount": 1999, "currencyCode": "EUR", "fractionDigits": 2},
        "orderState": "Confirmed",
        "shipmentState": "Shipped",
        "paymentState": "Paid",
        "store": {"typeId": "store", "key": "de-store"},
        "lineItems": [],
        "customLineItems": [],
        "origin": "Customer",
        "syncInfo": [],
        "refusedGifts": [],
        "shippingMode": "Single",
        "shipping": [],
        "taxMode": "Platform",
        "taxRoundingMode": "HalfEven",
        "taxCalculationMode": "LineItemLevel",
        "inventoryMode": "None",
        **overrides,
    }
    return msgspec.convert(document, CtOrder)


class NoJitter(random.Random):
    """Every jittered delay at its lower bound: a released entry is due again at once."""

    def uniform(self, a: float, b: float) -> float:
        return a


class FakeCommercetools:
    def __init__(self) -> None:
        self.orders: dict[str, CtOrder] = {ORDER_ID: _order()}
        self.messages: dict[str, dict[str, Any]] = {}
        self.reads = 0

    async def get_order_by_id(self, order_id: str, *, store_key: str | None = None, expand: Any = ()) -> CtOrder | None:
        self.reads += 1
        return self.orders.get(order_id)

    async def find_order_by_payment(self, payment_id: str) -> CtOrder | None:
        return self.orders[ORDER_ID] if payment_id == PAYMENT_ID else None

    async def get_message(self, message_id: str) -> msgspec.Raw | None:
        found = self.messages.get(message_id)
        return None if found is None else msgspec.Raw(json.dumps(found).encode())


class Harness:
    def __init__(
        self,
        storage: Storage,
        sandbox: Any,
        commercetools: FakeCommercetools,
        client: NovomindClient,
        clock: Clock | None = None,
    ) -> None:
        self.storage = storage
        self.sandbox = sandbox
        self.commercetools = commercetools
        self.client = client
        self.clock = clock
        self.worker = self.make_worker(MAPPINGS)

    def make_worker(
        self,
        mappings: Mappings,
        *,
        rng: random.Random | None = None,
        observe: Callable[[Delivery, Outcome, int], None] | None = None,
        **options: Any,
    ) -> PushWorker:
        assert mappings.push is not None
        if self.clock is not None:
            # A clock that stands still: no waiting for a gap or a busy gate, nothing jittered.
            options = {"gap_wait_seconds": 0.0, "lock_wait_seconds": 0.0, **options}
            rng = rng or NoJitter()
        return PushWorker(
            queue=self.storage.queue,
            idempotency=self.storage.idempotency,
            gates=self.storage.gates,
            links=self.storage.links,
            orders=self.commercetools,
            tickets=self.client,
            rules=mappings.push,
            markets=mappings.markets,
            auto_link_field=mappings.links.auto.order_custom_field,
            tracking_url=ViewRules.from_mappings(mappings).tracking_url,
            options=msgspec.structs.replace(WorkerOptions(name="test-worker", lease_seconds=5.0), **options),
            rng=rng,
            observe=observe,
            clock=time.monotonic if self.clock is None else self.clock.monotonic,
            history=self.storage.history,
            now=self.clock.now if self.clock is not None else lambda: datetime.now(UTC),
        )

    async def deliver(self, msg: dict[str, Any]) -> str:
        result = await accept_delivery(self.storage.queue, decode_delivery(platform(msg)))
        return result.outcome

    async def drain(self, worker: PushWorker | None = None) -> int:
        total = 0
        while handled := await (worker or self.worker).run_once():
            total += handled
        return total

    def ticket(self, ticket_id: int = TICKET) -> dict[str, Any]:
        return dict(self.sandbox.state.novomind.tickets[ticket_id].storage)

    def memos(self, process_id: int = TICKET) -> list[str]:
        return [memo.text for memo in self.sandbox.state.novomind.memos_of(process_id)]


class Clock:
    """The time a test drives: the store's UTC clock (SQLite) and the worker's monotonic one, together."""

    def __init__(self) -> None:
        self.utc = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
        self.seconds = 1000.0

    def now(self) -> datetime:
        return self.utc

    def monotonic(self) -> float:
        return self.seconds

    def advance(self, seconds: float) -> None:
        self.utc += timedelta(seconds=seconds)
        self.seconds += seconds


@asynccontextmanager
async def built(storage: Storage, config: NovomindSandboxConfig, clock: Clock | None = None) -> AsyncIterator[Harness]:
    sandbox = create_novomind_sandbox(config)
    state = sandbox.state.novomind
    for ticket_id in (TICKET, OTHER_TICKET):
        state.seed_ticket(SeedTicket(id=ticket_id, contact=SeedContact(id=ticket_id)))
    settings = NovomindSettings(
        base_url="http://novomind.test",
        client_id=config.client_id,
        client_secret=Secret(config.client_secret),
        username=config.username,
        password=Secret(config.password),
    )
    # Litestar's __call__ is typed narrower than httpx's generic ASGI callable; it is one.
    client = NovomindClient(settings, transport=httpx.ASGITransport(app=sandbox))  # type: ignore[arg-type]
    await storage.links.put(
        Link(kind="ticket", reference=str(TICKET), order_id=ORDER_ID, linked_by="test", linked_at=datetime.now(UTC))
    )
    try:
        yield Harness(storage, sandbox, FakeCommercetools(), client, clock)
    finally:
        await client.aclose()
        await storage.aclose()


@pytest.fixture(params=["sqlite", "redis"])
async def harness(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    storage: Storage
    if request.param == "redis":
        # A namespace of its own per test: nothing shared with other tests on the same Redis.
        storage = await RedisStorage.open(
            request.getfixturevalue("redis_url"), namespace=f"pushtest{uuid.uuid4().hex[:12]}", operation_timeout=5.0
        )
    else:
        storage = await open_storage(redis_url=None, data_dir=str(tmp_path))
    async with built(storage, NovomindSandboxConfig()) as harness:
        yield harness


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[Harness]:
    """SQLite on a clock the test drives, and a novomind that, like the real one, ignores idempotency
    keys: leases and delays run out when the test says so, never because the machine was slow."""
    clock = Clock()
    storage = await SqliteStorage.open(tmp_path / "gateway.sqlite3", clock=clock.now)
    async with built(storage, NovomindSandboxConfig(deduplicate=False), clock) as harness:
        yield harness


async def test_a_shipment_reaches_storage_and_a_memo_in_the_market_language(harness: Harness) -> None:
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    assert await harness.drain() == 1
    storage = harness.ticket()
    assert storage["ct.shipmentState"] == "Shipped"
    assert storage["ct.orderNumber"] == "ON-1001"
    assert storage["ct.lastEventId"] == "m1"
    assert "ct.orderState" not in storage  # this change does not know it: the key is left alone
    assert harness.memos() == ["Bestellung ON-1001 wurde versandt."]  # de-store -> German
    stats = await harness.storage.queue.stats()
    assert (stats.ready, stats.in_flight, stats.dead) == (0, 0, 0)


async def test_writes_carry_the_idempotency_key_and_a_redelivery_writes_nothing_twice(harness: Harness) -> None:
    msg = message("OrderStateChanged", seq=1, message_id="m1", orderState="Cancelled")
    await harness.deliver(msg)
    assert await harness.deliver(msg) == "duplicate"  # within the dedupe window: not even queued
    await harness.drain()
    # Past the dedupe window (here: queued under another entry id), the sequence mark stops it.
    event = to_new_event(decode_delivery(platform(msg)))
    assert event is not None
    await harness.storage.queue.enqueue(msgspec.structs.replace(event, message_id="m1-again"))
    assert await harness.drain() == 1
    assert harness.memos() == ["Bestellung ON-1001 wurde storniert."]
    writes = [
        r for r in harness.sandbox.state.novomind.requests if r.method in {"PUT", "POST"} and "/token" not in r.path
    ]
    assert len(writes) == 2
    assert all(r.header("idempotency-key") for r in writes)


async def test_messages_out_of_order_end_with_the_orders_latest_state(harness: Harness) -> None:
    harness.commercetools.orders[ORDER_ID] = _order(orderState="Complete", shipmentState="Delivered", version=20)
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await harness.drain()
    # 2 is missing, 3 arrives: the order is re-read and written as a whole.
    await harness.deliver(message("OrderStateChanged", seq=3, message_id="m3", orderState="Complete"))
    await harness.drain()
    storage = harness.ticket()
    assert (storage["ct.orderState"], storage["ct.shipmentState"], storage["ct.paymentState"]) == (
        "Complete",
        "Delivered",
        "Paid",
    )
    assert storage["ct.lastEvent"] == "orderSnapshot"
    # 2 arrives late: stale, nothing written.
    before = len(harness.sandbox.state.novomind.requests)
    await harness.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Delayed"))
    await harness.drain()
    assert len(harness.sandbox.state.novomind.requests) == before
    assert harness.ticket()["ct.shipmentState"] == "Delivered"


async def test_first_message_seen_mid_history_starts_from_the_order(harness: Harness) -> None:
    await harness.deliver(message("OrderPaymentStateChanged", seq=7, message_id="m7", paymentState="Paid"))
    await harness.drain()
    assert harness.commercetools.reads == 1
    assert harness.ticket()["ct.orderState"] == "Confirmed"


async def test_a_refund_on_a_payment_reaches_the_orders_ticket_with_money_in_the_market_format(
    harness: Harness,
) -> None:
    refund = message(
        "PaymentTransactionAdded",
        resource_type="payment",
        seq=2,
        message_id="p2",
        transaction={
            "id": "tx-1",
            "type": "Refund",
            "amount": {"type": "centPrecision", "centAmount": 1250, "currencyCode": "EUR", "fractionDigits": 2},
            "state": "Success",
        },
    )
    await harness.deliver(refund)
    await harness.drain()
    assert harness.memos() == ["Für Bestellung ON-1001 wurde eine Erstattung von 12,50\xa0€ gebucht."]


async def test_a_ticket_novomind_does_not_know_is_dead_lettered_at_once(harness: Harness) -> None:
    await harness.storage.links.put(
        Link(kind="ticket", reference="999999", order_id=ORDER_ID, linked_by="test", linked_at=datetime.now(UTC))
    )
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await harness.drain()
    letters = await harness.storage.queue.dead_letters()
    assert len(letters) == 1
    assert letters[0].attempts == 1
    assert "not found" in letters[0].reason


async def test_novomind_unavailable_is_retried_with_backoff_then_dead_lettered(harness: Harness) -> None:
    harness.sandbox.state.novomind.faults.inject(Fault(path_contains="/storage", status=503, retry_after="0", times=50))
    worker = harness.make_worker(MAPPINGS)
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await worker.run_once()
    stats = await harness.storage.queue.stats()
    assert (stats.delayed + stats.ready, stats.dead) == (1, 0)  # released for a retry, not lost


async def test_replay_of_a_dead_letter_after_the_fix_writes_once(harness: Harness) -> None:
    harness.sandbox.state.novomind.faults.inject(Fault(path_contains="/memos", status=400, times=1))
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await harness.drain()
    [letter] = await harness.storage.queue.dead_letters()
    assert harness.memos() == []
    assert harness.ticket()["ct.shipmentState"] == "Shipped"  # the storage write had gone through
    service = DeadLetterService(harness.storage.queue)
    await service.replay(letter.id)
    with pytest.raises(NotFoundError):
        await service.replay(letter.id)
    await harness.drain()
    assert harness.memos() == ["Bestellung ON-1001 wurde versandt."]
    puts = [r for r in harness.sandbox.state.novomind.requests if r.method == "PUT"]
    assert len(puts) == 1  # the storage write was done before: the replay did not repeat it


async def test_payload_not_included_fetches_the_message_from_commercetools(harness: Harness) -> None:
    msg = message("OrderStateChanged", seq=1, message_id="big-1", orderState="Complete")
    harness.commercetools.messages["big-1"] = msg
    envelope = {k: msg[k] for k in ("id", "version", "sequenceNumber", "resource", "resourceVersion", "createdAt")}
    body = {
        "notificationType": "Message",
        "projectKey": "shop",
        **envelope,
        "payloadNotIncluded": {"reason": "Payload too large", "payloadType": "OrderStateChanged"},
    }
    result = await accept_delivery(harness.storage.queue, decode_delivery(json.dumps(body).encode()))
    assert result.outcome == "queued"
    await harness.drain()
    assert harness.ticket()["ct.orderState"] == "Complete"
    assert harness.memos() == ["Bestellung ON-1001 ist abgeschlossen."]


async def test_a_message_commercetools_no_longer_has_is_dead_lettered(harness: Harness) -> None:
    body = {
        "notificationType": "Message",
        "projectKey": "shop",
        "id": "gone-1",
        "version": 1,
        "sequenceNumber": 1,
        "resource": {"typeId": "order", "id": ORDER_ID},
        "resourceVersion": 2,
        "createdAt": "2024-05-01T10:00:00.000Z",
        "payloadNotIncluded": {"reason": "Payload too large", "payloadType": "OrderStateChanged"},
    }
    await accept_delivery(harness.storage.queue, decode_delivery(json.dumps(body).encode()))
    await harness.drain()
    [letter] = await harness.storage.queue.dead_letters()
    assert "commercetools message" in letter.reason


async def test_a_change_notification_writes_the_orders_current_state(harness: Harness) -> None:
    body = {
        "notificationType": "ResourceUpdated",
        "projectKey": "shop",
        "resource": {"typeId": "order", "id": ORDER_ID},
        "version": 13,
        "oldVersion": 12,
        "modifiedAt": "2024-05-01T10:00:00.000Z",
    }
    await accept_delivery(harness.storage.queue, decode_delivery(json.dumps(body).encode()))
    await harness.drain()
    assert harness.ticket()["ct.shipmentState"] == "Shipped"
    assert harness.ticket()["ct.lastEvent"] == "orderSnapshot"


async def test_messages_older_than_a_re_read_never_overwrite_it(harness: Harness) -> None:
    """The proofs found this: after a re-read of version V, a message of version <= V that arrives in
    sequence (or after a second gap) must not write its older state over the re-read."""
    harness.commercetools.orders[ORDER_ID] = _order(orderState="Complete", shipmentState="Delivered", version=20)
    late = [
        message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"),  # first seen: re-read
        message("OrderShipmentStateChanged", seq=3, message_id="m3", shipmentState="Delayed"),  # in sequence, v4 <= 20
        message("OrderStateChanged", seq=5, message_id="m5", orderState="Complete"),  # a gap, v6 <= 20
        message("OrderShipmentStateChanged", seq=4, message_id="m4", shipmentState="Delivered"),
    ]
    for msg in late:
        await harness.deliver(msg)
        await harness.drain()
    storage = harness.ticket()
    assert (storage["ct.shipmentState"], storage["ct.orderState"]) == ("Delivered", "Complete")
    assert storage["ct.lastEventId"] == "m2"
    assert len(harness.memos()) == 1  # the re-read's memo only
    assert (await harness.storage.gates.enter(f"order:{ORDER_ID}", lease_seconds=1)).mark == "5@20"


@pytest.mark.parametrize(
    ("stored", "mark"), [(None, Mark(None)), ("7", Mark(7)), ("7@12", Mark(7, 12)), ("@9", Mark(None, 9))]
)
def test_marks_read_what_earlier_versions_wrote(stored: str | None, mark: Mark) -> None:
    assert Mark.parse(stored) == mark
    assert Mark.parse(mark.format()) == mark


async def test_the_running_worker_keeps_each_orders_sequence_and_stops_cleanly(harness: Harness) -> None:
    handled: list[Outcome] = []
    all_done = asyncio.Event()

    def observe(_delivery: Delivery, outcome: Outcome, _effects: int) -> None:
        handled.append(outcome)
        if len(handled) == 4:
            all_done.set()

    worker = harness.make_worker(MAPPINGS, batch_size=4, observe=observe)
    for seq, state in enumerate(["Ready", "Shipped", "Delayed", "Delivered"], start=1):
        await harness.deliver(message("OrderShipmentStateChanged", seq=seq, message_id=f"m{seq}", shipmentState=state))
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    await asyncio.wait_for(all_done.wait(), timeout=60)  # the event; the timeout only stops a hang
    stop.set()
    await asyncio.wait_for(running, timeout=60)
    assert handled == ["applied"] * 4
    stats = await harness.storage.queue.stats()
    assert stats.ready + stats.in_flight + stats.delayed == 0
    assert harness.ticket()["ct.shipmentState"] == "Delivered"
    assert harness.memos() == [
        "Bestellung ON-1001 ist versandbereit.",
        "Bestellung ON-1001 wurde versandt.",
        "Bestellung ON-1001 verzögert sich.",
        "Bestellung ON-1001 wurde zugestellt.",
    ]


async def test_an_idle_worker_looks_again_soon_then_less_and_less_often(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an empty poll the pause doubles from ``first_idle_seconds`` up to ``idle_seconds``; work
    received starts it over, so a worker that just ran dry does not leave a new event waiting long."""
    worker = harness.make_worker(MAPPINGS, first_idle_seconds=0.01, idle_seconds=0.08)
    stop = asyncio.Event()
    pauses: list[float] = []

    async def pause(*_events: asyncio.Event, timeout: float) -> None:
        pauses.append(timeout)
        if len(pauses) == 6:
            await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Ready"))
        if len(pauses) == 9:
            stop.set()
        await asyncio.sleep(0)

    monkeypatch.setattr("app.push.worker._first_of", pause)
    await asyncio.wait_for(worker.run(stop), timeout=10)
    assert pauses == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.08, 0.08, 0.01, 0.02, 0.04])
    assert harness.ticket()["ct.shipmentState"] == "Ready"


async def test_a_fresh_gate_is_confirmed_by_the_clock_and_an_aging_one_by_the_store(clocked: Harness) -> None:
    """Within the first half of the lease the gate cannot have run out: no round trip. Later, the store
    is asked, which also renews the lease from then on."""
    assert clocked.clock is not None
    worker = clocked.make_worker(MAPPINGS, lease_seconds=0.4)
    gates = clocked.storage.gates
    renewals: list[int] = []
    renew = gates.renew

    async def counting_renew(resource: str, **kwargs: Any) -> bool:
        renewals.append(kwargs["ticket"])
        return await renew(resource, **kwargs)

    gates.renew = counting_renew  # type: ignore[method-assign]
    try:
        async with worker._locked(f"order:{ORDER_ID}", "me") as held:
            await held.confirm()
            await held.confirm()
            assert renewals == []
            clocked.clock.advance(0.25)
            await held.confirm()  # past half the lease: asks, and renews
            assert len(renewals) == 1
            await held.confirm()
            assert len(renewals) == 1
            clocked.clock.advance(0.25)  # 0.5 s since entering, 0.25 s since renewing: still ours
            assert (await gates.enter(f"order:{ORDER_ID}", lease_seconds=5)).state == "busy"
    finally:
        del gates.renew


async def test_a_worker_whose_gate_ran_out_writes_nothing_and_stores_no_mark(clocked: Harness) -> None:
    """Fencing: stalled past its lease, a worker must not write or store a mark, whether another
    worker holds the order now or has already left it."""
    assert clocked.clock is not None
    worker = clocked.make_worker(MAPPINGS, lease_seconds=0.2)
    gates = clocked.storage.gates
    async with worker._locked(f"order:{ORDER_ID}", "stalled") as held:
        await held.confirm()
        clocked.clock.advance(0.3)
        other = await gates.enter(f"order:{ORDER_ID}", lease_seconds=5)
        assert other.state == "entered"
        assert await gates.leave(f"order:{ORDER_ID}", ticket=other.ticket, mark="7@3")
        with pytest.raises(RetriableError, match="lease ran out"):
            await held.confirm()
        with pytest.raises(RetriableError, match="lease ran out"):
            await held.store(Mark(9, 9))
        assert await held.leave(Mark(9, 9)) is False
    entry = await gates.enter(f"order:{ORDER_ID}", lease_seconds=5)
    assert (entry.state, entry.mark) == ("entered", "7@3")


class StepLog:
    """Wraps storage calls to record, as each starts, which other calls are still in flight."""

    def __init__(self) -> None:
        self.in_flight: set[str] = set()
        self.started: list[tuple[str, frozenset[str]]] = []

    def wrap(self, store: Any, method: str, name: Any) -> None:
        original = getattr(store, method)

        async def recorded(*args: Any, **kwargs: Any) -> Any:
            label = name(*args, **kwargs)
            self.started.append((label, frozenset(self.in_flight)))
            self.in_flight.add(label)
            try:
                return await original(*args, **kwargs)
            finally:
                self.in_flight.discard(label)

        setattr(store, method, recorded)

    def started_with(self, label: str) -> frozenset[str]:
        return next(others for started, others in self.started if started == label)


async def test_a_writes_completion_travels_with_the_events_next_storage_call_and_precedes_the_ack(
    harness: Harness,
) -> None:
    """Marking a key done is sent in the same turn (one Redis pipeline) as the next key's reservation,
    and the last one with leaving the gate: two round trips fewer per event, same guarantees, since
    every completion is in before the entry is acknowledged."""
    steps = StepLog()
    storage = harness.storage
    keys: list[str] = []

    def key_label(verb: str) -> Any:
        def label(key: str, **_: Any) -> str:
            if key not in keys:
                keys.append(key)
            return f"{verb} {keys.index(key)}"

        return label

    steps.wrap(storage.idempotency, "reserve", key_label("reserve"))
    steps.wrap(storage.idempotency, "complete", key_label("complete"))
    steps.wrap(storage.gates, "leave", lambda *_, **__: "leave")
    steps.wrap(storage.queue, "ack", lambda *_, **__: "ack")
    steps.wrap(storage.history, "record", lambda records, **_: f"history of {len(records)}")
    try:
        await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
        assert await harness.drain() == 1
    finally:
        for store, method in ((storage.idempotency, "reserve"), (storage.idempotency, "complete")):
            delattr(store, method)
        delattr(storage.gates, "leave")
        delattr(storage.queue, "ack")
        delattr(storage.history, "record")
    order = [label for label, _ in steps.started]
    # The event's history entries go out in one call, in the turn (pipeline) of leaving the gate, ahead of it.
    assert order == ["reserve 0", "complete 0", "reserve 1", "complete 1", "history of 2", "leave", "ack"]
    assert steps.started_with("reserve 1") == {"complete 0"}
    assert steps.started_with("leave") == {"complete 1", "history of 2"}
    assert steps.started_with("ack") == frozenset()
    assert harness.memos() == ["Bestellung ON-1001 wurde versandt."]


async def test_a_completion_the_store_refuses_fails_the_event_and_its_retry_writes_nothing_twice(
    clocked: Harness,
) -> None:
    """The storage write's completion fails while the memo's key is reserved in the same pipeline:
    the event is retried, the memo's key is freed at once (it was never sent), and the storage
    write, sent but not recorded, is sent again with its key once its lease has run out."""
    assert clocked.clock is not None
    storage = clocked.storage
    reserve, complete = storage.idempotency.reserve, storage.idempotency.complete
    reserved: list[str] = []
    refusals = [RetriableError("storage unavailable")]

    async def recording_reserve(key: str, **kwargs: Any) -> Any:
        reserved.append(key)
        return await reserve(key, **kwargs)

    async def refuse_once(key: str, **kwargs: Any) -> bool:
        if refusals:
            raise refusals.pop()
        return await complete(key, **kwargs)

    storage.idempotency.reserve = recording_reserve  # type: ignore[method-assign]
    storage.idempotency.complete = refuse_once  # type: ignore[method-assign]
    worker = clocked.make_worker(MAPPINGS)
    try:
        await clocked.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
        [delivery] = await storage.queue.receive("test-worker", max_count=5, lease_seconds=5)
        assert await worker.handle(delivery) == "retry"
        storage_key, memo_key = reserved
        assert clocked.memos() == []
        assert (await reserve(memo_key, owner="probe", lease_seconds=0.01, ttl_seconds=1)).state == "acquired"
        assert (await reserve(storage_key, owner="probe", lease_seconds=0.01, ttl_seconds=1)).state == "busy"
        assert await worker.run_once() == 1  # retried at once (no jitter): the storage key is still leased
        assert clocked.memos() == []
        clocked.clock.advance(6)  # past the storage key's lease (5 s)
        assert await worker.run_once() == 1
    finally:
        del storage.idempotency.reserve, storage.idempotency.complete
    assert clocked.memos() == ["Bestellung ON-1001 wurde versandt."]
    assert clocked.ticket()["ct.shipmentState"] == "Shipped"
    effects = clocked.sandbox.state.novomind.idempotency.effects()
    # This novomind ignores the key: the storage merge (idempotent by nature) is applied twice, the memo once.
    assert effects == {storage_key: {"requests": 2, "applied": 2}, memo_key: {"requests": 1, "applied": 1}}
    stats = await storage.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)


async def test_a_re_read_sent_again_under_its_key_carries_the_same_body(clocked: Harness) -> None:
    """A snapshot's write is keyed by the order version, so its body must not depend on when the
    order was read: here the first send is not recorded done, and the one after the key's lease ran
    out (six seconds later, so a read time would differ) repeats it byte for byte."""
    assert clocked.clock is not None
    storage = clocked.storage
    complete = storage.idempotency.complete
    refusals = [RetriableError("storage unavailable")]

    async def refuse_once(key: str, **kwargs: Any) -> bool:
        if refusals:
            raise refusals.pop()
        return await complete(key, **kwargs)

    storage.idempotency.complete = refuse_once  # type: ignore[method-assign]
    worker = clocked.make_worker(MAPPINGS)
    try:
        # Sequence 4 with nothing applied before: the order is re-read and written as a whole.
        await clocked.deliver(message("OrderStateChanged", seq=4, message_id="m4", orderState="Complete"))
        assert await worker.run_once() == 1
        assert clocked.memos() == []
        clocked.clock.advance(6)
        assert await worker.run_once() == 1
    finally:
        del storage.idempotency.complete
    puts = [r for r in clocked.sandbox.state.novomind.requests if r.method == "PUT"]
    assert len(puts) == 2
    assert puts[0].header("idempotency-key") == puts[1].header("idempotency-key")
    assert puts[0].body == puts[1].body
    assert json.loads(puts[0].body)["ct.lastEventAt"] == "2024-05-01T10:00:00Z"  # the order's lastModifiedAt
    assert len(clocked.memos()) == 1


# -- rules a planted bug once slipped past (issue 22): each test below fails with that bug put back --


def with_retry(max_attempts: int) -> Mappings:
    assert MAPPINGS.push is not None
    retry = msgspec.structs.replace(MAPPINGS.push.retry, max_attempts=max_attempts)
    return msgspec.structs.replace(MAPPINGS, push=msgspec.structs.replace(MAPPINGS.push, retry=retry))


async def test_a_message_at_exactly_the_version_a_re_read_wrote_writes_nothing(harness: Harness) -> None:
    """``resourceVersion <= mark`` (not ``<``): the re-read wrote version 20, which includes the change
    of a message at version 20, although its sequence number is next in line."""
    harness.commercetools.orders[ORDER_ID] = _order(orderState="Complete", shipmentState="Delivered", version=20)
    await harness.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    await harness.drain()  # first seen mid-history: re-read, version 20 written
    assert (await harness.storage.gates.enter(f"order:{ORDER_ID}", lease_seconds=0.01)).mark == "2@20"
    requests, memos = len(harness.sandbox.state.novomind.requests), harness.memos()

    at_the_version = message("OrderStateChanged", seq=3, message_id="m3", orderState="Cancelled", resourceVersion=20)
    await harness.deliver(at_the_version)
    await harness.drain()

    assert len(harness.sandbox.state.novomind.requests) == requests, "nothing written"
    assert harness.memos() == memos, "no memo added"
    assert harness.ticket()["ct.orderState"] == "Complete"


async def test_a_message_ahead_of_a_missing_one_waits_for_it_instead_of_re_reading(harness: Harness) -> None:
    """Seq 1, then 3, then 2 inside ``gap_wait_seconds``: both changes get their own memo, no re-read.

    The wait is long (60 s) and never used up: the test waits for the event it needs (message 3 has
    looked, found the gap and left the gate without a mark), so it does not depend on timing."""
    worker = harness.make_worker(MAPPINGS, gap_wait_seconds=60.0)
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Ready"))
    await harness.drain(worker)
    reads = harness.commercetools.reads  # the order's facts, read once and cached
    gates = harness.storage.gates
    leave = gates.leave
    waited = asyncio.Event()

    async def watching_leave(resource: str, **kwargs: Any) -> bool:
        if kwargs.get("mark") is None:
            waited.set()  # left without a mark: a gap to wait out
        return await leave(resource, **kwargs)

    gates.leave = watching_leave  # type: ignore[method-assign]
    try:
        await harness.deliver(message("OrderShipmentStateChanged", seq=3, message_id="m3", shipmentState="Delivered"))
        [third] = await harness.storage.queue.receive("w-3", max_count=5, lease_seconds=60)
        handling = asyncio.create_task(worker.handle(third))
        await asyncio.wait([handling, asyncio.ensure_future(waited.wait())], return_when=asyncio.FIRST_COMPLETED)
        assert not handling.done(), "message 3 did not wait for message 2"
        await harness.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
        [second] = await harness.storage.queue.receive("w-2", max_count=5, lease_seconds=60)
        assert await worker.handle(second) == "applied"
        assert await asyncio.wait_for(handling, timeout=30) == "applied"
    finally:
        del gates.leave
    assert harness.commercetools.reads == reads, "no re-read"
    assert harness.memos() == [
        "Bestellung ON-1001 ist versandbereit.",
        "Bestellung ON-1001 wurde versandt.",
        "Bestellung ON-1001 wurde zugestellt.",
    ]
    assert harness.ticket()["ct.lastEvent"] != "orderSnapshot"


async def test_a_write_novomind_keeps_refusing_is_sent_exactly_max_attempts_times(harness: Harness) -> None:
    """A 503 every time: retried until ``retry.max-attempts`` deliveries, then dead-lettered."""
    harness.sandbox.state.novomind.faults.inject(Fault(path_contains="/storage", status=503, times=1000))
    worker = harness.make_worker(with_retry(3), rng=NoJitter())
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    outcomes = []
    for _ in range(10):  # bounded; each round trip re-delivers at once (no jitter)
        [delivery] = await harness.storage.queue.receive("w", max_count=5, lease_seconds=60)
        outcomes.append(await worker.handle(delivery))
        if outcomes[-1] == "dead":
            break
    sends = [r for r in harness.sandbox.state.novomind.requests if r.method == "PUT"]
    assert outcomes == ["retry", "retry", "dead"]
    assert len(sends) == 3
    [letter] = await harness.storage.queue.dead_letters()
    assert letter.attempts == 3
    assert "gave up after 3 attempts" in letter.reason


async def test_each_delivered_write_is_in_the_tickets_history_once_in_words(clocked: Harness) -> None:
    await clocked.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await clocked.drain()
    await clocked.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await clocked.drain()

    entries = await clocked.storage.history.for_ticket(str(TICKET))

    assert [(e.write, e.outcome, e.text, e.change_kind, e.state) for e in entries] == [
        ("memo", "delivered", "Bestellung ON-1001 wurde versandt.", "shipment-state", "Shipped"),
        ("storage", "delivered", "Bestellung ON-1001 wurde versandt.", "shipment-state", "Shipped"),
    ]
    assert {(e.order_id, e.order_number, e.store, e.attempts, e.at, e.message_id) for e in entries} == {
        (ORDER_ID, "ON-1001", "de-store", 1, clocked.clock.now() if clocked.clock else None, "m1")
    }
    assert all(e.dead_letter_id is None and e.reason is None for e in entries)
    assert await clocked.storage.history.for_ticket(str(OTHER_TICKET)) == []


async def test_a_write_retried_then_delivered_is_one_entry_with_its_attempt(clocked: Harness) -> None:
    clocked.sandbox.state.novomind.faults.inject(Fault(path_contains="/memos", status=503, retry_after="0", times=1))
    await clocked.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await clocked.drain()
    assert clocked.clock is not None
    clocked.clock.advance(60)  # past the backoff
    await clocked.drain()

    entries = await clocked.storage.history.for_ticket(str(TICKET))

    assert [(e.write, e.attempts) for e in entries] == [("memo", 2), ("storage", 1)]
    assert clocked.memos() == ["Bestellung ON-1001 wurde versandt."]


async def test_an_event_that_gives_up_tells_every_linked_ticket_why(harness: Harness) -> None:
    await harness.storage.links.put(
        Link(kind="ticket", reference=str(OTHER_TICKET), order_id=ORDER_ID, linked_by="t", linked_at=datetime.now(UTC))
    )
    harness.sandbox.state.novomind.faults.inject(Fault(path_contains="/memos", status=400, times=1))
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await harness.drain()
    [letter] = await harness.storage.queue.dead_letters()

    first = await harness.storage.history.for_ticket(str(TICKET))
    other = await harness.storage.history.for_ticket(str(OTHER_TICKET))

    # The event's first memo (to TICKET's process) was refused: TICKET's storage write had gone through.
    assert [(e.write, e.outcome) for e in first] == [("memo", "dead-lettered"), ("storage", "delivered")]
    dead = first[0]
    assert (dead.dead_letter_id, dead.reason, dead.attempts, dead.key) == (
        letter.id,
        letter.reason,
        1,
        f"dead:{letter.id}",
    )
    assert "rejected" in (dead.reason or "") or "400" in (dead.reason or "")
    # OTHER_TICKET's writes come after the failed memo: none was sent, both are named.
    assert [(e.write, e.outcome, e.dead_letter_id) for e in other] == [("storage+memo", "dead-lettered", letter.id)]


async def test_an_event_that_gives_up_before_planning_tells_the_linked_tickets(harness: Harness) -> None:
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    await harness.drain()  # the worker now knows the order's number and store
    await harness.storage.queue.enqueue(
        msgspec.structs.replace(
            to_new_event(decode_delivery(platform(message("OrderShipmentStateChanged", seq=2, message_id="m2"))))
            or pytest.fail("no event"),
            payload=b"not json",
            message_id="m-bad",
            key=ORDER_ID,
        )
    )
    await harness.drain()
    [letter] = await harness.storage.queue.dead_letters()

    [dead, *_delivered] = await harness.storage.history.for_ticket(str(TICKET))

    assert (dead.outcome, dead.write, dead.change_kind, dead.dead_letter_id, dead.message_id) == (
        "dead-lettered",
        "storage+memo",
        "unknown",
        letter.id,
        "m-bad",
    )
    assert (dead.order_id, dead.order_number, dead.store) == (ORDER_ID, "ON-1001", "de-store")
