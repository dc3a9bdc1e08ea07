"""SIGKILL ``ctnm push --workers 2`` at random moments while it works, restart it, repeat: afterwards no
event is lost, no memo was written twice and no ticket went back to an older order version.

The stream: 40 seeded orders, primed (see harness), then each changed 7-10 times in the commercetools
sandbox (real messages with consecutive sequence numbers, the order's latest state in the sandbox), all
queued up front, each order's messages in sequence and the orders mixed. Every novomind write gets 5 ms
of latency so a kill often lands between a write and the worker's record of it: the restarted worker
finds the write pending behind the order's mark and finishes it: a storage merge is sent again (the
sandbox, like iAGENT, ignores the ``Idempotency-Key``; the merge is idempotent by nature), a memo is
first looked for by its reference. ``test_exactly_once.py`` is the longer, two-process version.

Kill points are seeded: a kill fires once a random share of the stream is done (10-80 %, at least a
few events after the previous kill), so every kill hits a process in the middle of its work.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    Backend,
    NovomindSim,
    PushProcess,
    candidate_orders,
    encode_delivery,
    history_mismatches,
    interleaved,
    judge,
    latest_orders,
    outstanding,
    primed_streams,
    report,
    settings_of,
    wait_drained,
)

pytestmark = pytest.mark.integration

SEED = 20240501
ORDERS = 40
KILLS = 4
BATCH = 4
"""GATEWAY_PUSH_BATCH_SIZE: a killed process holds at most 2 x 4 entries, so a kill disturbs a few orders
(their later messages arrive first, a gap, a re-read) and the others go on being applied one by one."""
BUDGET_SECONDS = 300.0
"""Only stops a run that hangs: the proof takes 10-30 s."""


async def test_sigkill_at_random_points_loses_nothing_and_applies_nothing_twice(
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    backend: Backend,
    store: Storage,
    env: dict[str, str],
    push_process: PushProcess,
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    streams = await primed_streams(
        sandbox.url,
        candidate_orders(sandbox.state.dataset, ORDERS),
        storage=store,
        novomind=novomind,
        settings=settings_of(env, lease_seconds=30),
        per_order=lambda _: rng.randint(7, 10),
        rng=rng,
        first_ticket=710001,
    )
    for message in interleaved(streams, rng):
        result = await accept_delivery(store.queue, decode_delivery(encode_delivery(message, "platform")))
        assert result.outcome == "queued"
    total = sum(len(s.messages) for s in streams)
    await novomind.inject(pathContains="/iMail/api/rest/", delayMs=5, times=1_000_000)

    thresholds = sorted(rng.sample(range(total // 10, total * 8 // 10), KILLS))
    push_process.env["GATEWAY_PUSH_BATCH_SIZE"] = str(BATCH)
    push_process.start()
    done_at_last_kill = 0
    for threshold in thresholds:
        while (done := total - outstanding(await store.queue.stats())) < max(threshold, done_at_last_kill + 5):
            assert time.monotonic() - started < BUDGET_SECONDS, f"stuck at {done}/{total} before kill"
            await asyncio.sleep(0.02)
        await asyncio.sleep(rng.uniform(0.0, 0.1))
        push_process.kill()
        push_process.start()
        done_at_last_kill = done
    await wait_drained(store, timeout=max(1.0, BUDGET_SECONDS - (time.monotonic() - started)), settle=0.5)
    assert push_process.stop() == 0

    letters = await store.queue.dead_letters()
    stats = await store.queue.stats()
    ledger = await novomind.ledger()
    verdict = judge(streams, ledger, latest_orders(sandbox.state.dataset, streams))
    outcomes = Counter(line.get("outcome") for line in push_process.log_lines() if line.get("event") == "push.event")
    report(
        "sigkill",
        backend,
        kills=push_process.kills,
        seconds=round(time.monotonic() - started, 1),
        **verdict.summary(),
        deadLetters=len(letters),
        loggedOutcomes=dict(outcomes),
    )

    assert push_process.kills == KILLS
    assert [(x.message_id, x.attempts, x.reason) for x in letters] == []
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)
    assert verdict.duplicated == 0, "a memo was written twice"
    assert verdict.regressions == [], "a ticket went back to an older version"
    assert len(verdict.applied) + len(verdict.reread) + len(verdict.covered) + len(verdict.lost) == total
    assert verdict.memo_problems == []
    assert verdict.lost == []
    assert verdict.state_mismatches == []
    assert await history_mismatches(store, streams, ledger) == [], "history must show each applied write once"
