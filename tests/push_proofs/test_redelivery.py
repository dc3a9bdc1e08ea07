"""Every event delivered 1-5 times, in random order and mixed formats, through the real receiver: each is
queued once, the workers drain the queue, every ticket ends with its order's latest state, no novomind
write is applied twice and nothing is dead-lettered.

The receiver is the gateway itself (``create_app(settings, push=False)`` served on loopback, opening
the store from the same settings as the workers; 16 requests in flight over keep-alive connections,
so copies of one message race each other); the copies arrive in
commercetools' three delivery formats (platform, CloudEvents, Pub/Sub push), chosen at random per
copy. Two workers (the runtime ``ctnm push`` runs, in this process) then drain the queue against both
sandboxes over loopback HTTP.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import httpx
import pytest

from app.asgi import create_app
from app.storage.ports import Delivery, Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    EVENTS_SECRET,
    FORMATS,
    Backend,
    JsonObject,
    NovomindSim,
    candidate_orders,
    encode_delivery,
    judge,
    latest_orders,
    primed_streams,
    report,
    running_pusher,
    settings_of,
    wait_drained,
)
from tests.support import ThreadedServer

pytestmark = pytest.mark.integration

SEED = 20240502
ORDERS = 15
IN_FLIGHT = 16
EVENTS_PATH = "/v1/events/commercetools"


async def _post_all(client: httpx.AsyncClient, deliveries: list[tuple[JsonObject, str]]) -> Counter[str]:
    outcomes: Counter[str] = Counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def post(message: JsonObject, fmt: str) -> None:
        async with gate:
            response = await client.post(
                EVENTS_PATH,
                content=encode_delivery(message, fmt),
                headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
            )
        assert response.status_code == 202, response.text
        outcomes[response.json()["outcome"]] += 1

    await asyncio.gather(*(post(message, fmt) for message, fmt in deliveries))
    return outcomes


async def test_each_event_delivered_one_to_five_times_in_random_order_is_applied_once(
    sandbox: SandboxHandle, novomind: NovomindSim, backend: Backend, store: Storage, env: dict[str, str]
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    streams = await primed_streams(
        sandbox.url,
        candidate_orders(sandbox.state.dataset, ORDERS),
        storage=store,
        novomind=novomind,
        settings=settings_of(env, lease_seconds=30),
        per_order=lambda _: rng.randint(6, 12),
        rng=rng,
        first_ticket=720001,
    )
    messages = [m for s in streams for m in s.messages]
    deliveries = [(m, rng.choice(FORMATS)) for m in messages for _ in range(rng.randint(1, 5))]
    rng.shuffle(deliveries)

    settings = settings_of(env)
    with ThreadedServer(create_app(settings, push=False)) as receiver:
        async with httpx.AsyncClient(base_url=receiver.url, timeout=30) as client:
            intake = await _post_all(client, deliveries)
    assert intake == {"queued": len(messages), "duplicate": len(deliveries) - len(messages)}

    seen: Counter[str] = Counter()
    results: Counter[str] = Counter()

    def observe(delivery: Delivery, outcome: Any, effects: int) -> None:
        seen[delivery.message_id] += 1
        results[outcome] += 1

    async with running_pusher(settings_of(env, lease_seconds=30), store, workers=2, observe=observe):
        drain = await wait_drained(store, timeout=40, settle=0.3)

    letters = await store.queue.dead_letters()
    ledger = await novomind.ledger()
    verdict = judge(streams, ledger, latest_orders(sandbox.state.dataset, streams))
    report(
        "redelivery",
        backend,
        deliveries=len(deliveries),
        formats=dict(Counter(fmt for _, fmt in deliveries)),
        drainSeconds=round(drain, 2),
        seconds=round(time.monotonic() - started, 1),
        **verdict.summary(),
        deadLetters=len(letters),
        outcomes=dict(results),
    )

    assert [(x.message_id, x.reason) for x in letters] == []
    assert set(seen) == {m["id"] for m in messages}, "every queued event reached a worker"
    assert verdict.duplicated == 0, "a novomind write was applied twice"
    assert all(counts["applied"] == 1 for counts in ledger.effects.values() if counts["applied"])
    assert verdict.memo_problems == []
    assert verdict.lost == []
    assert verdict.state_mismatches == []
