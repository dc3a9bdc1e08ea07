"""One poison event among 1000 good ones: it is dead-lettered with its reason after one attempt, every good
event is done in the same drain, and none of them waited for it or was retried because of it.

Two kinds of poison, both fatal by the error taxonomy: a link to a ticket novomind does not know (404 on
the storage merge) and a write novomind rejects (a fault answering 400 for one ticket's storage path
only, for as long as the test runs). The poison is queued *first*, ahead of the 1000 good events (100
orders x 10 messages, each order's in sequence, orders mixed); two workers drain the queue.

The good orders are primed (see harness) before the 1000 are queued, so most good events are applied
one by one; every good ticket must end with its order's latest state.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.ports import Delivery, Link, Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    STORAGE_PATH,
    Backend,
    NovomindSim,
    OrderStream,
    candidate_orders,
    change_order,
    encode_delivery,
    interleaved,
    judge,
    latest_orders,
    primed_streams,
    random_change,
    report,
    running_pusher,
    settings_of,
    wait_drained,
)

pytestmark = pytest.mark.integration

SEED = 20240503
GOOD_ORDERS = 100
PER_ORDER = 10
UNKNOWN_TICKET = 999_999
BATCH = 64  # GATEWAY_PUSH_BATCH_SIZE's default: what one worker receives at a time


@pytest.mark.parametrize("poison", ["unknown-ticket", "rejected-write"])
async def test_a_poison_event_is_dead_lettered_after_one_attempt_and_delays_no_good_event(
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    backend: Backend,
    store: Storage,
    env: dict[str, str],
    poison: str,
) -> None:
    rng = random.Random(SEED)
    orders = candidate_orders(sandbox.state.dataset, GOOD_ORDERS + 1)
    streams = await primed_streams(
        sandbox.url,
        orders[:GOOD_ORDERS],
        storage=store,
        novomind=novomind,
        settings=settings_of(env, lease_seconds=30),
        per_order=lambda _: PER_ORDER,
        rng=rng,
        first_ticket=730001,
    )
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as client:
        [bad_message] = await change_order(client, orders[-1]["id"], [random_change(rng)])
    bad = OrderStream(orders[-1]["id"], orders[-1]["orderNumber"], 739_999, [bad_message])
    if poison == "unknown-ticket":
        bad.ticket_id = UNKNOWN_TICKET
        expected_reason = "not found"
    else:
        await novomind.seed_tickets([bad.ticket_id])
        await novomind.inject(pathContains=STORAGE_PATH.format(bad.ticket_id), status=400, times=1000)
        expected_reason = "rejected the request (HTTP 400"
    link = Link(
        kind="ticket",
        reference=str(bad.ticket_id),
        order_id=bad.order_id,
        linked_by="proof",
        linked_at=datetime.now(UTC),
    )
    await store.links.put(link)

    for message in [bad_message, *interleaved(streams, rng)]:  # the poison first
        result = await accept_delivery(store.queue, decode_delivery(encode_delivery(message, "platform")))
        assert result.outcome == "queued"
    good_ids = {m["id"] for s in streams for m in s.messages}
    assert len(good_ids) == GOOD_ORDERS * PER_ORDER

    handled: list[tuple[str, int, str, float]] = []  # (message id, attempt, outcome, seconds since start)
    started = time.monotonic()

    def observe(delivery: Delivery, outcome: Any, effects: int) -> None:
        handled.append((delivery.message_id, delivery.attempt, str(outcome), time.monotonic() - started))

    async with running_pusher(settings_of(env, lease_seconds=30), store, workers=2, observe=observe):
        drain = await wait_drained(store, timeout=50, settle=0.3)

    letters = await store.queue.dead_letters()
    ledger = await novomind.ledger()
    verdict = judge(streams, ledger, latest_orders(sandbox.state.dataset, streams))
    poison_handling = [(attempt, outcome, at) for mid, attempt, outcome, at in handled if mid == bad_message["id"]]
    position = next(i for i, entry in enumerate(handled) if entry[0] == bad_message["id"])
    good = [entry for entry in handled if entry[0] in good_ids]
    report(
        "poison",
        backend,
        poison=poison,
        goodEvents=len(good_ids),
        drainSeconds=round(drain, 2),
        poisonDeadAfterSeconds=round(poison_handling[0][2], 3),
        poisonPosition=position,
        goodOutcomes=dict(Counter(outcome for _, _, outcome, _ in good)),
        goodRetried=len({mid for mid, attempt, _, _ in good if attempt > 1}),
        deadLetters=[(x.attempts, x.reason) for x in letters],
        **verdict.summary(),
    )

    [letter] = letters
    assert (letter.message_id, letter.key, letter.attempts) == (bad_message["id"], bad.order_id, 1)
    assert expected_reason in letter.reason
    assert [(attempt, outcome) for attempt, outcome, _ in poison_handling] == [(1, "dead")]
    poison_writes = [r for r in ledger.writes() if r["path"] == STORAGE_PATH.format(bad.ticket_id)]
    assert len(poison_writes) == 1, "the poison was sent once, never retried"
    # All 1000 done in this drain, each exactly once. A "retry" among them can only be the two workers
    # meeting on one order (the lock wait is 2 s): never the poison, which has its own order and one attempt.
    finished = [(mid, outcome) for mid, _, outcome, _ in good if outcome != "retry"]
    assert Counter(mid for mid, _ in finished) == dict.fromkeys(good_ids, 1)
    assert {outcome for _, outcome in finished} <= {"applied", "snapshot", "stale"}
    assert verdict.lost == []
    assert verdict.state_mismatches == []
    # Queued first, it was handled with the first batches, not after the good ones.
    assert position < 2 * BATCH
    assert verdict.duplicated == 0
    stats = await store.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 1)
