"""Several workers on one queue — asyncio tasks on separate handles and a separate process — and a
consumer process that dies holding leases. Every wait is bounded; the processes are always reaped."""

from __future__ import annotations

import asyncio
import collections
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from app.storage.ports import Delivery, NewEvent, QueueStats
from app.storage.redis_backend import RedisStorage
from tests.storage.redis.conftest import OpenRedis
from tests.storage.redis.support import REPO
from tests.support import queue_counts

pytestmark = pytest.mark.integration

BOUND = 60.0
"""Seconds any one test may spend waiting on its workers."""
EMPTY = QueueStats(ready=0, delayed=0, in_flight=0, dead=0)

# Consumes until the queue is drained (nothing ready or in flight), after "go" on stdin; prints one
# JSON line per delivery. Long leases: a second delivery of an entry would be a double delivery.
WORKER = """
import asyncio, json, sys
from app.storage.ports import QueueStats
from app.storage.redis_backend import RedisStorage

async def main(url, namespace, consumer):
    storage = await RedisStorage.open(url, namespace=namespace, operation_timeout=5.0)
    try:
        print("ready", flush=True)
        sys.stdin.readline()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 45
        while loop.time() < deadline:
            batch = await storage.queue.receive(consumer, max_count=5, lease_seconds=60)
            if not batch:
                if await storage.queue.stats() == QueueStats(0, 0, 0, 0):
                    return
                await asyncio.sleep(0.005)
                continue
            for delivery in batch:
                await asyncio.sleep(0.002)
                acked = await storage.queue.ack(delivery.entry_id)
                line = {"m": delivery.message_id, "attempt": delivery.attempt, "acked": acked, "by": consumer}
                print(json.dumps(line), flush=True)
    finally:
        await storage.aclose()

asyncio.run(main(*sys.argv[1:4]))
"""

# Takes entries with a short lease and exits without acking or closing anything: a crashed worker.
DOOMED = """
import asyncio, os, sys
from app.storage.redis_backend import RedisStorage

async def main(url, namespace, lease):
    storage = await RedisStorage.open(url, namespace=namespace, operation_timeout=5.0)
    batch = await storage.queue.receive("doomed", max_count=10, lease_seconds=float(lease))
    print(" ".join(delivery.entry_id for delivery in batch), flush=True)
    os._exit(0)

asyncio.run(main(*sys.argv[1:4]))
"""


@asynccontextmanager
async def python(code: str, *args: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        code,
        *args,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        await asyncio.wait_for(process.communicate(), BOUND)


def event(number: int) -> NewEvent:
    return NewEvent(message_id=f"msg-{number}", key=f"order-{number % 17}", payload=b"\x00" + str(number).encode())


async def test_tasks_and_a_process_share_one_queue_without_double_delivery_or_loss(
    open_redis: OpenRedis, redis_url: str, namespace: str
) -> None:
    total = 400
    handles = [await open_redis() for _ in range(3)]
    holding: dict[str, str] = {}
    seen: list[dict[str, object]] = []

    async def consume(name: str, storage: RedisStorage) -> None:
        deadline = time.monotonic() + BOUND
        while time.monotonic() < deadline:
            batch = await storage.queue.receive(name, max_count=7, lease_seconds=60)
            if not batch:
                if await storage.queue.stats() == EMPTY:
                    return
                await asyncio.sleep(0.005)
                continue
            for delivery in batch:
                assert delivery.message_id not in holding, (
                    f"{delivery.message_id} handed to {name} while {holding[delivery.message_id]} holds it"
                )
                holding[delivery.message_id] = name
            for delivery in batch:
                await asyncio.sleep(0.002)
                del holding[delivery.message_id]
                acked = await storage.queue.ack(delivery.entry_id)
                seen.append({"m": delivery.message_id, "attempt": delivery.attempt, "acked": acked, "by": name})

    async with python(WORKER, redis_url, namespace, "process-1") as worker:
        assert worker.stdout is not None
        assert worker.stdin is not None
        assert await asyncio.wait_for(worker.stdout.readline(), BOUND) == b"ready\n"
        producer = handles[0]
        await asyncio.gather(*(producer.queue.enqueue(event(number)) for number in range(total)))
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()

        tasks = [consume(f"task-{index}", handles[index % len(handles)]) for index in range(4)]
        _, (output, _) = await asyncio.wait_for(asyncio.gather(asyncio.gather(*tasks), worker.communicate()), BOUND)
        assert worker.returncode == 0

    from_process = [json.loads(line) for line in output.decode().splitlines()]
    deliveries = seen + from_process
    counts = collections.Counter(str(delivery["m"]) for delivery in deliveries)
    assert set(counts) == {f"msg-{number}" for number in range(total)}, "entries were lost"
    assert [m for m, count in counts.items() if count > 1] == [], "entries were delivered twice"
    assert all(delivery["attempt"] == 1 and delivery["acked"] is True for delivery in deliveries)
    assert from_process, "the separate process never got an entry: the test did not test sharing"
    assert len({delivery["by"] for delivery in deliveries}) >= 3
    assert await producer.queue.stats() == EMPTY


async def test_leases_of_a_consumer_process_that_died_are_taken_over_after_they_run_out(
    store: RedisStorage, redis_url: str, namespace: str
) -> None:
    for number in range(3):
        await store.queue.enqueue(event(number))
    # Long enough that only a machine stalled for seconds between the dead consumer's receive and the
    # survivor's first one could see the lease end in between; the lease ends on Redis server time, so
    # the survivor then waits for it (bounded by BOUND, which only a lease that never ends reaches).
    lease = 3.0

    async with python(DOOMED, redis_url, namespace, str(lease)) as doomed:
        output, _ = await asyncio.wait_for(doomed.communicate(), BOUND)
    lost = output.decode().split()
    assert len(lost) == 3
    assert queue_counts(await store.queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=3, dead=0)
    assert await store.queue.receive("survivor", max_count=10) == [], "the dead consumer's leases are still live"

    taken: list[Delivery] = []
    async with asyncio.timeout(BOUND):
        while len(taken) < 3:
            taken += await store.queue.receive("survivor", max_count=10, lease_seconds=60)
            await asyncio.sleep(0.05)

    assert [delivery.message_id for delivery in taken] == ["msg-0", "msg-1", "msg-2"]
    assert [delivery.attempt for delivery in taken] == [2, 2, 2]
    # The same stream entry, a new delivery: the dead consumer's ids no longer settle anything.
    assert [delivery.entry_id.split(":")[0] for delivery in taken] == [entry.split(":")[0] for entry in lost]
    assert not set(lost) & {delivery.entry_id for delivery in taken}
    assert [await store.queue.ack(entry) for entry in lost] == [False, False, False]
    assert [await store.queue.ack(delivery.entry_id) for delivery in taken] == [True, True, True]
    assert await store.queue.stats() == EMPTY
