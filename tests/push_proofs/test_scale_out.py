"""A deployment on one Redis: two ``ctnm serve`` processes and three ``ctnm push`` processes.

What running more than one process must not break, shown end to end over loopback:

- **one cache**: a hot order read through both API processes at once reaches commercetools once;
- **evictions reach every process**: an order event received by one API process makes the other
  serve the changed order at once (views are cached for an hour here, so only an eviction explains it);
- **push under a SIGKILL**: the three workers share the queue; one is killed mid-stream and restarted;
  afterwards nothing is lost, no memo was written twice, no ticket went back to an older version;
- **one rate limit**: a caller's requests count in one window whichever process answers them.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    EVENTS_SECRET,
    Backend,
    NovomindSim,
    OrderStream,
    PushProcess,
    candidate_orders,
    change_order,
    ctnm_command,
    encode_delivery,
    interleaved,
    judge,
    latest_orders,
    outstanding,
    primed_streams,
    report,
    settings_of,
    wait_drained,
)
from tests.support import REPO, free_port, token

pytestmark = pytest.mark.integration

SEED = 20261206
ORDERS = 24
BUDGET_SECONDS = 300.0
"""Only stops a run that hangs."""
READER = "scale-out-reader"
LIMITED = "scale-out-limited"
LIMITED_RATE = 6


class ServeProcess:
    """``ctnm serve --no-push`` on a loopback port, its output appended to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self._process = subprocess.Popen(
                [*ctnm_command(), "serve", "--no-push", "--port", str(self.port)],
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def until_serving(self) -> None:
        deadline = time.monotonic() + 120  # only a process that never comes up takes this long
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as client:
            while time.monotonic() < deadline:
                assert self._process.poll() is None, f"ctnm serve exited with {self._process.returncode}"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("ctnm serve did not answer /healthz within 120 s")

    def stop(self) -> int:
        self._process.terminate()
        try:
            return self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            return self._process.wait(timeout=10)


@pytest.fixture
def redis_backend(tmp_path: Path) -> Iterator[Backend]:
    from tests.support import RedisProcess

    server = RedisProcess()
    server.start()
    try:
        yield Backend("redis", tmp_path / "data", server.url)
    finally:
        server.stop()


@pytest.fixture
def backend(redis_backend: Backend) -> Backend:
    """The proofs' store fixtures on Redis only: scaling out is what Redis is for."""
    return redis_backend


def _deployment_mappings(env: dict[str, str]) -> None:
    mappings = Path(env["GATEWAY_MAPPINGS_DIR"])
    # Views stay fresh for an hour: a changed order served at once can only come from an eviction.
    (mappings / "cache.toml").write_text("[default]\nttl-seconds = 3600\nmax-stale-seconds = 7200\n")
    (mappings / "limits.toml").write_text(
        f'[callers]\nrate = "{LIMITED_RATE}/hour"\n\n'
        f'[callers.subjects]\n"{READER}" = "100000/hour"\n\n'
        '[commercetools]\nrate = "100000/hour"\n'
    )


def _bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(('orders:read',), subject=subject)}"}


async def test_two_api_processes_and_three_workers_on_one_redis(
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    backend: Backend,
    store: Storage,
    env: dict[str, str],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    _deployment_mappings(env)
    env = env | {"GATEWAY_RATE_LIMITS": "true"}
    streams = await primed_streams(
        sandbox.url,
        candidate_orders(sandbox.state.dataset, ORDERS),
        storage=store,
        novomind=novomind,
        settings=settings_of(env, lease_seconds=30),
        per_order=lambda _: rng.randint(5, 8),
        rng=rng,
        first_ticket=820001,
    )
    apis = [ServeProcess(env, tmp_path / f"serve-{i}.log") for i in (1, 2)]
    workers = [
        PushProcess(env | {"GATEWAY_PUSH_BATCH_SIZE": "4"}, tmp_path / f"push-{i}.log", workers=1) for i in (1, 2, 3)
    ]
    try:
        await asyncio.gather(*(api.until_serving() for api in apis))
        figures: dict[str, object] = {}
        async with httpx.AsyncClient(timeout=60) as http:
            figures |= await _one_cache(http, apis, sandbox)
            # An order outside the push streams: its event must not disturb what the push phase judges.
            [bystander] = candidate_orders(sandbox.state.dataset, 1, skip=ORDERS)
            figures |= await _evictions_reach_every_process(http, apis, sandbox, bystander["id"])
            figures |= await _push_under_a_kill(http, apis, workers, streams, store, sandbox, novomind, rng, started)
            figures |= await _one_rate_limit(http, apis)
        report("scale-out", backend, seconds=round(time.monotonic() - started, 1), **figures)
    finally:
        for worker in workers:
            worker.close()
        codes = [api.stop() for api in apis]
    # uvicorn finishes its graceful shutdown, then re-raises the signal so a supervisor sees it.
    assert all(code in (0, -signal.SIGTERM) for code in codes), codes


async def _one_cache(http: httpx.AsyncClient, apis: list[ServeProcess], sandbox: SandboxHandle) -> dict[str, object]:
    def reads() -> int:
        return sum(1 for r in sandbox.state.requests if r.path.endswith(f"/orders/order-number={DEMO_ORDER_NUMBER}"))

    before = reads()
    answers = await asyncio.gather(
        *(http.get(f"{api.url}/v1/orders/{DEMO_ORDER_NUMBER}", headers=_bearer(READER)) for api in apis * 10)
    )
    assert [a.status_code for a in answers] == [200] * 20
    assert reads() - before == 1, "20 reads through two processes at once: one commercetools read"
    return {"hotKeyRequests": 20, "hotKeyUpstreamReads": reads() - before}


async def _evictions_reach_every_process(
    http: httpx.AsyncClient, apis: list[ServeProcess], sandbox: SandboxHandle, order_id: str
) -> dict[str, object]:
    order_number = sandbox.state.dataset.orders[order_id]["orderNumber"]
    url = f"/v1/orders/{order_number}"
    views = [(await http.get(api.url + url, headers=_bearer(READER))).json() for api in apis]
    assert views[0]["fetchedAt"] == views[1]["fetchedAt"], "both processes hold the one cached view"
    assert views[0]["shipmentState"] != "Delayed"
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=30) as control:
        [message] = await change_order(
            control, order_id, [{"type": "OrderShipmentStateChanged", "shipmentState": "Delayed"}]
        )
    accepted = await http.post(
        f"{apis[0].url}/v1/events/commercetools",
        content=encode_delivery(message, "platform"),
        headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
    )
    assert accepted.status_code == 202
    # The other process hears the eviction over Redis pub/sub; wait for it (an hour-long TTL otherwise).
    deadline = time.monotonic() + 30
    while True:
        seen = (await http.get(apis[1].url + url, headers=_bearer(READER))).json()
        if seen["shipmentState"] == "Delayed":
            break
        assert time.monotonic() < deadline, "the eviction never reached the second process"
        await asyncio.sleep(0.05)
    first = (await http.get(apis[0].url + url, headers=_bearer(READER))).json()
    assert first["shipmentState"] == "Delayed"
    assert first["fetchedAt"] == seen["fetchedAt"] > views[0]["fetchedAt"], "one re-read, shared again"
    return {"evictionSeenByOtherProcess": True}


async def _push_under_a_kill(
    http: httpx.AsyncClient,
    apis: list[ServeProcess],
    workers: list[PushProcess],
    streams: list[OrderStream],
    store: Storage,
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    rng: random.Random,
    started: float,
) -> dict[str, object]:
    messages = interleaved(streams, rng)
    for index, message in enumerate(messages):  # the subscription's deliveries, spread over both APIs
        answer = await http.post(
            f"{apis[index % 2].url}/v1/events/commercetools",
            content=encode_delivery(message, "platform"),
            headers={"Authorization": f"Bearer {EVENTS_SECRET}", "Content-Type": "application/json"},
        )
        assert answer.status_code == 202
    total = len(messages)
    await novomind.inject(pathContains="/iMail/api/rest/", delayMs=5, times=1_000_000)
    for worker in workers:
        worker.start()
    threshold = rng.randint(total // 4, total // 2)
    while total - outstanding(await store.queue.stats()) < threshold:
        assert time.monotonic() - started < BUDGET_SECONDS, "stuck before the kill"
        await asyncio.sleep(0.02)
    workers[0].kill()
    workers[0].start()
    await wait_drained(store, timeout=max(1.0, BUDGET_SECONDS - (time.monotonic() - started)), settle=0.5)
    codes = [worker.stop() for worker in workers]
    assert codes == [0, 0, 0]
    verdict = judge(streams, await novomind.ledger(), latest_orders(sandbox.state.dataset, streams))
    assert await store.queue.dead_letters() == []
    assert verdict.duplicated == 0, "a memo was written twice"
    assert verdict.regressions == [], "a ticket went back to an older version"
    assert verdict.lost == []
    assert verdict.memo_problems == []
    handled = [sum(1 for line in worker.log_lines() if line.get("event") == "push.event") for worker in workers]
    assert all(count > 0 for count in handled), f"every worker took part: {handled}"
    return {"pushEvents": total, "killedAt": threshold, "eventsPerWorker": handled, **verdict.summary()}


async def _one_rate_limit(http: httpx.AsyncClient, apis: list[ServeProcess]) -> dict[str, object]:
    statuses = [
        (await http.get(f"{apis[i % 2].url}/v1/orders/{DEMO_ORDER_NUMBER}", headers=_bearer(LIMITED))).status_code
        for i in range(LIMITED_RATE + 2)
    ]
    assert statuses == [200] * LIMITED_RATE + [429, 429], "one window for the caller across both processes"
    return {"rateLimitStatuses": statuses}
