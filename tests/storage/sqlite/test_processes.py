"""Several processes on one file (``ctnm serve`` + ``ctnm push`` sharing a data directory).

Each child is a fresh interpreter (``sys.executable -c``) that waits at a file barrier, then opens
the same fresh file (so the migrations race too) and works; it prints its results as JSON. Every
wait is bounded and a stuck child is killed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.conftest import Opener

REPO = Path(__file__).resolve().parents[3]
CHILDREN = 2
SHARED = 200
OWN = 200
BATCH = 1000
EVENTS = 300

CHILD = r"""
import asyncio, json, sys, time
from datetime import UTC, datetime
from pathlib import Path

from app.storage.ports import Link, NewEvent
from app.storage.sqlite_backend import SqliteStorage

mode, path, barrier, name, children = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
SHARED, OWN, BATCH, EVENTS = (int(value) for value in sys.argv[6:10])
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def link(kind, reference, **fields):
    return Link(kind=kind, reference=reference, linked_by=name, linked_at=NOW, **fields)


def wait_for(flag, seconds=30):
    deadline = time.monotonic() + seconds
    while not flag.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"child {name}: no {flag.name} within {seconds}s")
        time.sleep(0.002)


async def links(storage):
    changed = 0
    for i in range(SHARED):
        changed += (await storage.links.put(link("ticket", f"shared-{i}", order_id=f"order-{name}-{i}")))[1]
        changed += (await storage.links.put(link("ticket", f"own-{name}-{i}", order_id=f"order-{name}-{i}")))[1]
    batch = [link("process", f"batch-{name}-{i}", customer_id=f"customer-{i % 50}") for i in range(BATCH)]
    changed += await storage.links.put_many(batch)
    return {"changed": changed}


async def queue(storage):
    duplicates = 0
    for i in range(EVENTS):
        event = NewEvent(message_id=f"m-{i}", key=f"k-{i % 7}", payload=f"{i}".encode())
        duplicates += (await storage.queue.enqueue(event)).duplicate
    (barrier / f"enqueued-{name}").touch()
    for n in range(children):
        wait_for(barrier / f"enqueued-{n}")
    # Everything is queued now: the children compete for the same entries until none is ready.
    received = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        batch = await storage.queue.receive(name, max_count=5, lease_seconds=120)
        for delivery in batch:
            received.append([delivery.message_id, delivery.attempt])
            if not await storage.queue.ack(delivery.entry_id):
                raise SystemExit(f"child {name}: a live lease was refused")
        if not batch and (await storage.queue.stats()).ready == 0:
            break
    return {"duplicates": duplicates, "received": received}


async def main():
    (barrier / f"ready-{name}").touch()
    wait_for(barrier / "go")
    storage = await SqliteStorage.open(path, timeout_seconds=10)
    try:
        result = await {"links": links, "queue": queue}[mode](storage)
    finally:
        await storage.aclose()
    print(json.dumps(result))


asyncio.run(main())
"""


def run_children(mode: str, path: Path, barrier: Path) -> list[dict[str, Any]]:
    barrier.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    numbers = [str(n) for n in (SHARED, OWN, BATCH, EVENTS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, mode, str(path), str(barrier), str(n), str(CHILDREN), *numbers],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for n in range(CHILDREN)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((barrier / f"ready-{n}").exists() for n in range(CHILDREN)):
            if time.monotonic() > deadline or any(proc.poll() is not None for proc in procs):
                break
            time.sleep(0.01)
        (barrier / "go").touch()
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return [json.loads(stdout) for stdout, _ in outputs]


@pytest.fixture
def fresh_path(tmp_path: Path) -> Path:
    return tmp_path / "shared" / "gateway.sqlite3"


async def test_two_processes_putting_links_lose_nothing_and_index_every_winner(
    fresh_path: Path, tmp_path: Path, opener: Opener
) -> None:
    results = run_children("links", fresh_path, tmp_path / "barrier")

    # Every put changed something: each process's targets differ from the other's.
    assert sum(result["changed"] for result in results) == CHILDREN * (SHARED + OWN + BATCH)
    storage: SqliteStorage = await opener(fresh_path)
    assert await storage.links.count() == SHARED + CHILDREN * (OWN + BATCH)
    for i in range(SHARED):
        shared = await storage.links.get("ticket", f"shared-{i}")
        assert shared is not None
        assert shared.version == CHILDREN, f"shared-{i}: a put was lost between processes"
        for n in range(CHILDREN):
            indexed = [found.reference for found in await storage.links.find_by_order(f"order-{n}-{i}")]
            expected = sorted([f"own-{n}-{i}"] + ([f"shared-{i}"] if shared.order_id == f"order-{n}-{i}" else []))
            assert indexed == expected, f"order index disagrees with the links for order-{n}-{i}"
    for c in range(50):
        assert len(await storage.links.find_by_customer(f"customer-{c}")) == CHILDREN * BATCH // 50


async def test_two_processes_receiving_from_one_queue_deliver_each_entry_once(
    fresh_path: Path, tmp_path: Path, opener: Opener
) -> None:
    results = run_children("queue", fresh_path, tmp_path / "barrier")

    assert sum(result["duplicates"] for result in results) == (CHILDREN - 1) * EVENTS
    received = [tuple(item) for result in results for item in result["received"]]
    assert sorted(received) == sorted((f"m-{i}", 1) for i in range(EVENTS)), "lost or doubly delivered entries"
    storage: SqliteStorage = await opener(fresh_path)
    stats = await storage.queue.stats()
    assert (stats.ready, stats.delayed, stats.in_flight, stats.dead) == (0, 0, 0, 0)
