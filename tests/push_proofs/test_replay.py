"""A dead letter replayed twice with ``ctnm dlq replay`` once the fault is gone: the second replay is refused,
and novomind shows every write applied exactly once.

The order is primed (see harness), so the event is its next change and applied as such. The event's
storage merge succeeds, its memo is answered 400 (a fault for that one process's memo path, once):
fatal, so the event is dead-lettered after one attempt with the storage merge already done. An
operator lists the dead letters and replays the one twice (the CLI, as a subprocess on the same store);
the workers then drain the queue again.

(A re-read that fails that way keeps the version it read in the order's mark, so that no older change
can be applied over the tickets it did reach; replaying its dead letter then finds it covered, and the
ticket that refused gets the order's state with its next change: docs/push.md.)
"""

from __future__ import annotations

import json
import random

import pytest

from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    MEMO_PATH,
    STATE_FIELDS,
    STORAGE_PATH,
    Backend,
    NovomindSim,
    candidate_orders,
    encode_delivery,
    primed_streams,
    report,
    run_ctnm,
    running_pusher,
    settings_of,
    wait_drained,
)

pytestmark = pytest.mark.integration


async def test_a_dead_letter_replayed_twice_is_queued_once_and_writes_once(
    sandbox: SandboxHandle, novomind: NovomindSim, backend: Backend, store: Storage, env: dict[str, str]
) -> None:
    settings = settings_of(env, lease_seconds=30)
    [stream] = await primed_streams(
        sandbox.url,
        candidate_orders(sandbox.state.dataset, 1),
        storage=store,
        novomind=novomind,
        settings=settings,
        per_order=lambda _: 1,
        rng=random.Random(20240504),
        first_ticket=740001,
    )
    ticket = stream.ticket_id
    primed = await novomind.ledger()
    assert len(primed.memos) == 1, "the primer's memo"
    await novomind.inject(pathContains=MEMO_PATH.format(ticket), status=400, times=1)
    delivery = decode_delivery(encode_delivery(stream.last, "cloudevents"))
    assert (await accept_delivery(store.queue, delivery)).outcome == "queued"

    async with running_pusher(settings, store, workers=1):
        await wait_drained(store, timeout=20)
    listing = run_ctnm(env, "dlq", "list")
    assert listing.returncode == 0, listing.stderr
    [view] = [json.loads(line) for line in listing.stdout.splitlines()]
    assert (view["messageId"], view["resourceId"], view["attempts"]) == (stream.last["id"], stream.order_id, 1)
    assert "HTTP 400" in view["reason"]
    before = await novomind.ledger()
    storage_before = before.storage_of(ticket)
    assert storage_before["ct.lastEventId"] == stream.last["id"], "the storage merge went through"
    assert before.memos == primed.memos

    await novomind.clear_faults()
    first = run_ctnm(env, "dlq", "replay", view["id"])
    second = run_ctnm(env, "dlq", "replay", view["id"])
    assert (first.returncode, second.returncode) == (0, 2), (first.stderr, second.stderr)
    assert f"replayed {view['id']} as queue entry" in first.stderr
    assert "dead letter not found" in second.stderr
    stats = await store.queue.stats()
    assert (stats.ready, stats.dead) == (1, 0), "queued once, by the first replay"

    async with running_pusher(settings, store, workers=1):
        await wait_drained(store, timeout=20)

    ledger = await novomind.ledger()
    writes = [
        r
        for r in ledger.writes()
        if r["path"] in {STORAGE_PATH.format(ticket), MEMO_PATH.format(ticket)}
        and json.loads(r["body"]).get("ct.lastEventId", stream.last["id"]) == stream.last["id"]
        and r not in primed.requests
    ]
    keys = {r["path"]: dict(r["headers"])["idempotency-key"] for r in writes}
    storage_effect = ledger.effects[keys[STORAGE_PATH.format(ticket)]]
    memo_effect = ledger.effects[keys[MEMO_PATH.format(ticket)]]
    report(
        "replay-twice",
        backend,
        replays=[first.returncode, second.returncode],
        storageWrite=storage_effect,
        memoWrite=memo_effect,
        memos=len(ledger.memos),
    )
    assert all(counts["applied"] == 1 for counts in ledger.effects.values())
    assert storage_effect == {"requests": 1, "applied": 1}, "done before the dead letter: not sent again"
    assert memo_effect == {"requests": 2, "applied": 1}, "the 400, then the replay's write"
    assert [m["processId"] for m in ledger.memos] == [ticket, ticket], "the primer's memo, then this event's"
    order = sandbox.state.dataset.orders[stream.order_id]
    storage = ledger.storage_of(ticket)
    assert storage == storage_before, "the replay did not merge again"
    assert all(storage[ticket_field] == order[ct_field] for ct_field, ticket_field in STATE_FIELDS)
    assert await store.queue.dead_letters() == []
    stats = await store.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)
