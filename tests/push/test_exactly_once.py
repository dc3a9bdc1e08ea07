"""Exactly once in effect on a novomind that ignores idempotency keys, after a worker dies anywhere.

The worker here dies as a killed process would: from the chosen moment on, none of its calls reaches
storage or novomind any more, and its leases stay taken until they run out. The store runs on a
clock the test drives (``clocked``), so a lease runs out when the test says so; the novomind sandbox
applies every repeat, as iAGENT, which documents no idempotency header, would.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any, cast

import msgspec
import pytest

from app.mapping.loader import Mappings
from app.mapping.schema import PushWrite
from app.novomind.client import NovomindClient, NovomindReply, NovomindWrite
from app.push.worker import Mark, PushWorker
from app.sandbox.faults import Fault
from app.storage.ports import EventQueue, IdempotencyStore, PushHistory, SequenceGates
from tests.push.payloads import ORDER_ID, message
from tests.push.test_worker import MAPPINGS, TICKET, Harness, _order, clocked, with_retry

__all__ = ["clocked"]  # the fixture, imported to be used here


class Killed(BaseException):
    """The process is gone: nothing after this point runs (not an ``Exception``: nobody handles it)."""


class Life:
    def __init__(self) -> None:
        self.dead = False


class Mortal:
    """A storage part or novomind client whose calls fail once its process has died."""

    def __init__(self, target: object, life: Life) -> None:
        self._target = target
        self._life = life

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self._life.dead:
                raise Killed
            return await attribute(*args, **kwargs)

        return call


class DyingWriter(Mortal):
    """Dies right after a chosen write reached novomind (sent, answered, not yet recorded done)."""

    def __init__(self, target: NovomindClient, life: Life, dies_after: Callable[[NovomindWrite], bool]) -> None:
        super().__init__(target, life)
        self._dies_after = dies_after
        self._send = target.send

    async def send(self, write: NovomindWrite) -> NovomindReply:
        if self._life.dead:
            raise Killed
        reply = await self._send(write)
        if self._dies_after(write):
            self._life.dead = True
            raise Killed
        return reply


def doomed_worker(harness: Harness, dies_after: Callable[[NovomindWrite], bool], mappings: Mappings) -> PushWorker:
    life = Life()
    worker = harness.make_worker(mappings)
    storage = harness.storage
    # The worker's collaborators, swapped for mortal ones (same objects underneath).
    worker._queue = cast(EventQueue, Mortal(storage.queue, life))
    worker._gates = cast(SequenceGates, Mortal(storage.gates, life))
    worker._idempotency = cast(IdempotencyStore, Mortal(storage.idempotency, life))
    worker._history = cast(PushHistory, Mortal(storage.history, life))
    worker._tickets = DyingWriter(harness.client, life, dies_after)
    return worker


async def die_handling_one(worker: PushWorker, harness: Harness) -> None:
    [delivery] = await harness.storage.queue.receive("doomed", max_count=1, lease_seconds=5)
    with pytest.raises(Killed):
        await worker.handle(delivery)


def storage_history(harness: Harness, ticket: int = TICKET) -> list[int]:
    """The order version of every storage write novomind received for ``ticket``, in order."""
    return [
        int(json.loads(r.body)["ct.orderVersion"])
        for r in harness.sandbox.state.novomind.requests
        if r.method == "PUT" and r.path.endswith(f"/tickets/{ticket}/storage")
    ]


def is_memo(write: NovomindWrite) -> bool:
    return write.method == "POST"


def is_storage(write: NovomindWrite) -> bool:
    return write.method == "PUT"


def without_verification() -> Mappings:
    assert MAPPINGS.push is not None
    memo = msgspec.structs.replace(MAPPINGS.push.writes["memo"], verify="none")
    push = msgspec.structs.replace(MAPPINGS.push, writes={**MAPPINGS.push.writes, "memo": memo})
    return msgspec.structs.replace(MAPPINGS, push=push)


async def prime(harness: Harness) -> None:
    """Message 1 applied: the order's mark is 1@2, a version-2 storage write on the ticket."""
    await harness.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Ready"))
    assert await harness.worker.run_once() == 1
    assert storage_history(harness) == [2]


async def test_a_worker_killed_in_a_re_read_leaves_no_way_back_for_older_messages(clocked: Harness) -> None:
    """The regression the SIGKILL proof found (issue 16): a re-read wrote version 37, the worker died
    before recording it, and message 2 (version 26) then wrote its older state over it."""
    assert clocked.clock is not None
    await prime(clocked)
    clocked.commercetools.orders[ORDER_ID] = _order(orderState="Complete", version=37)
    await clocked.deliver(message("OrderStateChanged", seq=3, message_id="m3", orderState="Complete"))
    await die_handling_one(doomed_worker(clocked, is_storage, MAPPINGS), clocked)  # re-read: died after its PUT
    assert storage_history(clocked) == [2, 37]

    clocked.clock.advance(6)  # the dead worker's leases run out
    await clocked.deliver(
        message("OrderStateChanged", seq=2, message_id="m2", orderState="Confirmed", resourceVersion=26)
    )
    while await clocked.worker.run_once():
        pass

    history = storage_history(clocked)
    assert history == sorted(history), f"a storage write went back: {history}"
    assert clocked.ticket()["ct.orderState"] == "Complete"
    assert len(clocked.memos()) == 2, "the primer's memo and the re-read's, each once"
    assert Mark.parse((await clocked.storage.gates.enter(f"order:{ORDER_ID}", lease_seconds=1)).mark) == Mark(3, 37)
    stats = await clocked.storage.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)


async def test_a_memo_whose_answer_was_lost_is_found_by_its_reference_and_not_sent_again(clocked: Harness) -> None:
    assert clocked.clock is not None
    await prime(clocked)
    await clocked.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    await die_handling_one(doomed_worker(clocked, is_memo, MAPPINGS), clocked)  # died after the memo's POST
    assert clocked.memos() == ["Bestellung ON-1001 ist versandbereit.", "Bestellung ON-1001 wurde versandt."]

    clocked.clock.advance(6)
    assert await clocked.worker.run_once() == 1

    assert clocked.memos() == ["Bestellung ON-1001 ist versandbereit.", "Bestellung ON-1001 wurde versandt."]
    reads = [r for r in clocked.sandbox.state.novomind.requests if r.method == "GET" and r.path.endswith("/memos")]
    assert len(reads) == 1, "the memo was looked for once"
    assert clocked.ticket()["ct.shipmentState"] == "Shipped"


async def test_a_worker_killed_after_its_writes_leaves_one_history_entry_per_write(clocked: Harness) -> None:
    """Killed after the memo's POST: the storage write was recorded done (with the memo's reservation),
    the event's history entries not yet (they go with leaving the gate). Whoever finishes the pending
    writes records both, the done one too; the redelivered entry, now stale, adds nothing."""
    assert clocked.clock is not None
    await prime(clocked)
    await clocked.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    await die_handling_one(doomed_worker(clocked, is_memo, MAPPINGS), clocked)
    assert [e.message_id for e in await clocked.storage.history.for_ticket(str(TICKET))] == ["m1", "m1"]

    clocked.clock.advance(6)
    while await clocked.worker.run_once():
        pass

    entries = await clocked.storage.history.for_ticket(str(TICKET))
    assert sorted((e.message_id, e.write, e.outcome) for e in entries) == [
        ("m1", "memo", "delivered"),
        ("m1", "storage", "delivered"),
        ("m2", "memo", "delivered"),
        ("m2", "storage", "delivered"),
    ]
    assert len({e.key for e in entries}) == 4
    assert clocked.memos() == ["Bestellung ON-1001 ist versandbereit.", "Bestellung ON-1001 wurde versandt."]


async def test_without_a_verification_read_a_crash_costs_at_most_one_duplicate_memo(clocked: Harness) -> None:
    """``verify = "none"``: what docs/push.md promises for an installation without a memo list."""
    assert clocked.clock is not None
    mappings = without_verification()
    clocked.worker = clocked.make_worker(mappings)
    await prime(clocked)
    await clocked.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    await die_handling_one(doomed_worker(clocked, is_memo, mappings), clocked)

    clocked.clock.advance(6)
    assert await clocked.worker.run_once() == 1

    assert clocked.memos().count("Bestellung ON-1001 wurde versandt.") == 2
    assert not [r for r in clocked.sandbox.state.novomind.requests if r.method == "GET"]


async def test_a_worker_killed_between_its_write_ahead_mark_and_the_first_write_gets_them_finished(
    clocked: Harness,
) -> None:
    """Marked ahead, nothing sent: the next holder (here a later message of the order) sends the
    recorded writes before anything else, so the mark never runs ahead of the ticket."""
    assert clocked.clock is not None
    await prime(clocked)
    await clocked.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    worker = doomed_worker(clocked, is_storage, MAPPINGS)
    tickets = worker._tickets
    assert isinstance(tickets, DyingWriter)
    tickets._life.dead = True  # dead before the first write leaves (the write-ahead mark is stored)
    real_gates = clocked.storage.gates
    stored: list[str | None] = []
    renew = real_gates.renew

    async def recording_renew(resource: str, **kwargs: Any) -> bool:
        stored.append(kwargs.get("mark"))
        return await renew(resource, **kwargs)

    worker._gates = cast(SequenceGates, Mortal(real_gates, Life()))
    real_gates.renew = recording_renew  # type: ignore[method-assign]
    try:
        await die_handling_one(worker, clocked)
    finally:
        del real_gates.renew
    [ahead] = stored
    assert ahead is not None
    assert ahead.startswith("2@3!")
    assert storage_history(clocked) == [2]

    clocked.clock.advance(6)
    await clocked.deliver(message("OrderShipmentStateChanged", seq=3, message_id="m3", shipmentState="Delivered"))
    while await clocked.worker.run_once():
        pass
    assert storage_history(clocked) == [2, 3, 4]
    assert clocked.memos()[1:] == ["Bestellung ON-1001 wurde versandt.", "Bestellung ON-1001 wurde zugestellt."]


async def test_a_write_that_can_never_succeed_does_not_block_the_order_behind_its_mark(clocked: Harness) -> None:
    """A 404 dead-letters the event and drops its pending writes: the next message is not held up (it
    finds a gap where the dead one was, and writes the order as it is now)."""
    await prime(clocked)
    clocked.commercetools.orders[ORDER_ID] = _order(shipmentState="Delivered", version=4)
    clocked.sandbox.state.novomind.faults.inject(Fault(path_contains="/memos", status=404, times=1))
    await clocked.deliver(message("OrderShipmentStateChanged", seq=2, message_id="m2", shipmentState="Shipped"))
    await clocked.deliver(message("OrderShipmentStateChanged", seq=3, message_id="m3", shipmentState="Delivered"))
    while await clocked.worker.run_once():
        pass
    [letter] = await clocked.storage.queue.dead_letters()
    assert letter.message_id == "m2"
    assert (clocked.ticket()["ct.shipmentState"], clocked.ticket()["ct.lastEvent"]) == ("Delivered", "orderSnapshot")
    assert Mark.parse((await clocked.storage.gates.enter(f"order:{ORDER_ID}", lease_seconds=1)).mark).pending == ()


async def test_retry_after_is_a_floor_the_retry_does_not_come_earlier(clocked: Harness) -> None:
    """novomind says ``Retry-After: 30``: with a seeded jitter source the entry is not due a moment
    before 30 s of the store's clock, and is due after them (plus at most one base of jitter)."""
    assert clocked.clock is not None
    clocked.sandbox.state.novomind.faults.inject(Fault(path_contains="/storage", status=503, retry_after="30", times=1))
    worker = clocked.make_worker(with_retry(8), rng=random.Random(20261206))
    await clocked.deliver(message("OrderShipmentStateChanged", seq=1, message_id="m1", shipmentState="Shipped"))
    [delivery] = await clocked.storage.queue.receive("w", max_count=1, lease_seconds=60)
    assert await worker.handle(delivery) == "retry"

    clocked.clock.advance(29.9)
    assert await clocked.storage.queue.receive("w", max_count=1, lease_seconds=60) == []
    assert (await clocked.storage.queue.stats()).delayed == 1
    clocked.clock.advance(0.1 + 1.0)  # 30 s plus the largest jitter on top (one backoff base)
    [again] = await clocked.storage.queue.receive("w", max_count=1, lease_seconds=60)
    assert again.attempt == 2
    # Its writes were recorded ahead: the retry finishes them first, then finds the message covered.
    assert await worker.handle(again) == "stale"
    assert clocked.ticket()["ct.shipmentState"] == "Shipped"
    assert clocked.memos() == ["Bestellung ON-1001 wurde versandt."]


MEMO_WRITE: dict[str, Any] = {
    "method": "POST",
    "path": "/iMail/api/rest/processes/{processId}/memos",
    "body": {"text": "{statusText}"},
    "reference-field": "externalReference",
    "verify": "GET /iMail/api/rest/processes/{processId}/memos",
}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"verify": "GET /memos?all=1"}, "verify must be"),
        ({"verify": "POST /iMail/api/rest/processes/{processId}/memos"}, "verify must be"),
        ({"verify": "GET /iMail/{customerEmail}"}, "unknown placeholder {customerEmail}"),
        ({"reference-field": None}, "verify needs reference-field"),
        ({"reference-field": "text"}, "the body already has 'text'"),
        ({"reference-field": "two words"}, "reference-field must be a field name"),
        ({"method": "PUT"}, "a PUT is idempotent"),
    ],
)
def test_a_verification_read_is_declared_next_to_its_write_or_explicitly_absent(
    change: dict[str, Any], fragment: str
) -> None:
    assert msgspec.convert(MEMO_WRITE, PushWrite).verify_path == "/iMail/api/rest/processes/{processId}/memos"
    assert msgspec.convert(MEMO_WRITE | {"verify": "none"}, PushWrite).verify_path is None
    with pytest.raises(msgspec.ValidationError, match=re.escape(fragment)):
        msgspec.convert({key: value for key, value in (MEMO_WRITE | change).items() if value is not None}, PushWrite)


def test_the_shipped_mapping_verifies_memos_by_their_reference() -> None:
    assert MAPPINGS.push is not None
    memo = MAPPINGS.push.writes["memo"]
    assert (memo.reference_field, memo.verify_path) == (
        "externalReference",
        "/iMail/api/rest/processes/{processId}/memos",
    )
    assert MAPPINGS.push.writes["storage"].verify_path is None
