"""``ctnm backfill`` against both sandboxes over loopback, on each backend: every linked ticket ends at
its order's state, a second backfill writes nothing to novomind, and a stopped backfill continues
where it stopped with every order queued once.

The pusher never ran before the backfill here (the situation backfill is for): tickets and links exist,
novomind has nothing from the orders. The backfill queues; the in-process pusher drains the queue.
"""

from __future__ import annotations

import random
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.asgi import build_backfill
from app.commercetools.client import CommercetoolsClient
from app.errors import StorageUnavailableError
from app.mapping.loader import load_mappings
from app.push.backfill import Backfill, BackfillReport, BackfillSource
from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.settings import Settings
from app.storage.ports import EnqueueResult, EventQueue, Link, NewEvent, Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    MEMO_PATH,
    STATE_FIELDS,
    STORAGE_PATH,
    Ledger,
    NovomindSim,
    OrderStream,
    candidate_orders,
    change_order,
    encode_delivery,
    primed_streams,
    random_change,
    run_ctnm,
    running_pusher,
    seed,
    settings_of,
    wait_drained,
)

pytestmark = pytest.mark.integration


async def _backfill(
    settings: Settings,
    store: Storage,
    since: datetime,
    *,
    source: BackfillSource = "auto",
    limit: int | None = None,
    queue: EventQueue | None = None,
    page_size: int = 500,
) -> BackfillReport:
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    assert mappings.push is not None
    if queue is None and page_size == 500:  # as `ctnm backfill` builds it
        async with AsyncExitStack() as stack:
            return await build_backfill(settings, mappings, store, stack).run(since, source=source, limit=limit)
    client = CommercetoolsClient(settings.commercetools)
    try:
        backfill = Backfill(
            queue=queue or store.queue,
            links=store.links,
            cursors=store.cursors,
            history=client,
            rules=mappings.push,
            page_size=page_size,
        )
        return await backfill.run(since, source=source, limit=limit)
    finally:
        await client.aclose()


async def _drain(settings: Settings, store: Storage) -> None:
    async with running_pusher(settings, store, workers=2):
        await wait_drained(store, timeout=30)
    assert await store.queue.dead_letters() == []


async def _world(
    sandbox: SandboxHandle, store: Storage, novomind: NovomindSim, count: int, first: int
) -> list[OrderStream]:
    orders = candidate_orders(sandbox.state.dataset, count)
    streams = [OrderStream(order["id"], order["orderNumber"], first + i) for i, order in enumerate(orders)]
    await seed(store, novomind, streams)
    return streams


def _writes(ledger: Ledger) -> Counter[tuple[str, str]]:
    return Counter((request["method"], request["path"]) for request in ledger.writes())


def _assert_at_order_state(sandbox: SandboxHandle, ledger: Ledger, ticket: int, order_id: str) -> None:
    order: dict[str, Any] = sandbox.state.dataset.orders[order_id]
    stored = ledger.storage_of(ticket)
    for field, key in STATE_FIELDS:
        if order.get(field) is not None:
            assert stored.get(key) == order[field], (ticket, key)
    assert stored["ct.orderVersion"] == str(order["version"])


async def test_backfill_from_the_orders_writes_each_ticket_once_and_a_second_run_writes_nothing(
    sandbox: SandboxHandle, novomind: NovomindSim, store: Storage, env: dict[str, str]
) -> None:
    settings = settings_of(env, lease_seconds=30)
    streams = await _world(sandbox, store, novomind, 4, 761001)
    # A second ticket on the first order: one refresh for the order writes to both.
    extra = 761101
    await novomind.seed_tickets([extra])
    await store.links.put(
        Link(
            kind="ticket",
            reference=str(extra),
            order_id=streams[0].order_id,
            linked_by="t",
            linked_at=datetime.now(UTC),
        )
    )
    since = datetime.now(UTC) - timedelta(days=40)

    first = await _backfill(settings, store, since)
    assert (first.source, first.generation, first.resumed, first.complete) == ("orders", 1, False, True)
    assert (first.seen, first.queued, first.duplicates) == (5, 4, 1)
    await _drain(settings, store)
    ledger = await novomind.ledger()
    writes = _writes(ledger)
    tickets = [(s.ticket_id, s.order_id) for s in streams] + [(extra, streams[0].order_id)]
    for ticket, order_id in tickets:
        assert writes[("PUT", STORAGE_PATH.format(ticket))] == 1
        assert writes[("POST", MEMO_PATH.format(ticket))] == 1
        _assert_at_order_state(sandbox, ledger, ticket, order_id)
    assert sum(writes.values()) == 2 * len(tickets)

    # Run again through the command line (a finished backfill starts a new generation): it queues
    # every order again, and the worker finds every ticket at its order's version.
    again = run_ctnm(env, "backfill", "--since", since.isoformat())
    assert again.returncode == 0, again.stderr
    assert "backfill from orders (run 2): 5 links visited, 4 events queued, 1 already queued; complete" in again.stderr
    await _drain(settings, store)
    assert _writes(await novomind.ledger()) == writes, "a second backfill wrote to novomind"


class _StopsAfter:
    """The store's queue, failing (storage unreachable) from the ``allowed + 1``-th enqueue on: a
    backfill killed in the middle of a page, after some of its events were queued."""

    def __init__(self, queue: EventQueue, allowed: int) -> None:
        self._queue = queue
        self._allowed = allowed

    async def enqueue(self, event: NewEvent) -> EnqueueResult:
        if self._allowed == 0:
            raise StorageUnavailableError("storage unreachable (injected)")
        self._allowed -= 1
        return await self._queue.enqueue(event)


async def test_a_stopped_backfill_continues_where_it_stopped_and_queues_every_order_once(
    sandbox: SandboxHandle, novomind: NovomindSim, store: Storage, env: dict[str, str]
) -> None:
    settings = settings_of(env, lease_seconds=30)
    streams = await _world(sandbox, store, novomind, 7, 762001)
    since = datetime.now(UTC) - timedelta(days=40)

    stopped = await _backfill(settings, store, since, limit=3, page_size=2)
    assert (stopped.seen, stopped.queued, stopped.complete) == (3, 3, False)
    # Killed after two more enqueues, in the middle of the page that starts at the fourth link.
    failing: Any = _StopsAfter(store.queue, allowed=3)
    with pytest.raises(StorageUnavailableError):
        await _backfill(settings, store, since, queue=failing, page_size=2)
    finished = await _backfill(settings, store, since, page_size=2)
    assert (finished.resumed, finished.complete, finished.generation) == (True, True, 1)
    # The failed run stored its position after the page of links 4-5: 6 was queued and is a duplicate.
    assert (finished.seen, finished.queued, finished.duplicates) == (2, 1, 1)
    stats = await store.queue.stats()
    assert stats.ready == len(streams), "every order queued exactly once"

    await _drain(settings, store)
    ledger = await novomind.ledger()
    writes = _writes(ledger)
    for stream in streams:
        assert writes[("PUT", STORAGE_PATH.format(stream.ticket_id))] == 1
        assert writes[("POST", MEMO_PATH.format(stream.ticket_id))] == 1
        _assert_at_order_state(sandbox, ledger, stream.ticket_id, stream.order_id)


async def test_backfill_from_the_messages_api_applies_the_messages_since_the_date(
    sandbox: SandboxHandle, novomind: NovomindSim, store: Storage, env: dict[str, str]
) -> None:
    settings = settings_of(env, lease_seconds=30)
    streams = await _world(sandbox, store, novomind, 3, 763001)
    rng = random.Random(20261206)
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as client:
        before = []
        for stream in streams:  # before --since: they show that the Messages API reaches back that far
            before += await change_order(client, stream.order_id, [random_change(rng)])
        # Just after the last of them (at the API's millisecond precision); the sandbox's message
        # clock makes every later message at least that late.
        since = datetime.fromisoformat(before[-1]["createdAt"]) + timedelta(milliseconds=1)
        after = 0
        for stream in streams:
            after += len(await change_order(client, stream.order_id, [random_change(rng) for _ in range(3)]))

    first = await _backfill(settings, store, since)
    assert (first.source, first.complete, first.queued, first.duplicates) == ("messages", True, after, 0)
    await _drain(settings, store)
    ledger = await novomind.ledger()
    writes = _writes(ledger)
    for stream in streams:
        _assert_at_order_state(sandbox, ledger, stream.ticket_id, stream.order_id)

    second = await _backfill(settings, store, since)
    assert (second.generation, second.queued, second.duplicates) == (2, 0, after)
    await _drain(settings, store)
    assert _writes(await novomind.ledger()) == writes
    # Before every kept message there is none: the orders are re-read instead.
    assert (await _backfill(settings, store, since - timedelta(days=40))).source == "orders"


async def test_backfill_over_tickets_the_pusher_kept_current_writes_no_memo(
    sandbox: SandboxHandle, novomind: NovomindSim, store: Storage, env: dict[str, str]
) -> None:
    """Orders whose messages the pusher applied one by one: their marks hold the orders' versions but
    no re-read of them was ever written. Backfill sends only the state write (harmless), no memo (no
    news), and only once."""
    settings = settings_of(env, lease_seconds=30)
    streams = await primed_streams(
        sandbox.url,
        candidate_orders(sandbox.state.dataset, 3),
        storage=store,
        novomind=novomind,
        settings=settings,
        per_order=lambda _: 2,
        rng=random.Random(20261207),
        first_ticket=764001,
    )
    for stream in streams:
        for message in stream.messages:
            await accept_delivery(store.queue, decode_delivery(encode_delivery(message, "platform")))
    await _drain(settings, store)
    before = _writes(await novomind.ledger())
    since = datetime.now(UTC) - timedelta(days=40)

    assert (await _backfill(settings, store, since, source="orders")).queued == len(streams)
    await _drain(settings, store)
    ledger = await novomind.ledger()
    after = _writes(ledger)
    for stream in streams:
        assert (
            after[("PUT", STORAGE_PATH.format(stream.ticket_id))]
            == before[("PUT", STORAGE_PATH.format(stream.ticket_id))] + 1
        )
        assert (
            after[("POST", MEMO_PATH.format(stream.ticket_id))] == before[("POST", MEMO_PATH.format(stream.ticket_id))]
        )
        _assert_at_order_state(sandbox, ledger, stream.ticket_id, stream.order_id)

    await _backfill(settings, store, since, source="orders")
    await _drain(settings, store)
    assert _writes(await novomind.ledger()) == after
