"""Every call is bounded: a locked file, a runaway statement or a broken schema surface as
``StorageUnavailableError`` within about the timeout, with an operator-readable detail and no data."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.errors import StorageUnavailableError
from app.storage.ports import AuditRecord, NewEvent
from app.storage.sqlite.engine import Lane
from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.conftest import Opener
from tests.storage.sqlite.helpers import START, link, raw

TIMEOUT = 0.3
# Only what a broken bound would take: SQLite's own default lock wait is 5 s, 30 queued calls waiting
# one after another 9 s, a hang for ever. A slow machine's stalls stay far below it. What ended a
# wait is told by the error's detail ("locked", "did not finish within"), not by the stopwatch.
BOUND = 4.0
SECRET = "secret-4711"
"""A data value: it must never appear in an error."""

Call = Callable[[SqliteStorage], Awaitable[Any]]

WRITES: dict[str, Call] = {
    "links.put": lambda s: s.links.put(link(SECRET, order_id=SECRET)),
    "links.put_many": lambda s: s.links.put_many([link(SECRET), link(f"{SECRET}-2")]),
    "links.delete": lambda s: s.links.delete("ticket", SECRET),
    "queue.enqueue": lambda s: s.queue.enqueue(NewEvent(message_id=SECRET, key=SECRET, payload=b"x")),
    "queue.ack": lambda s: s.queue.ack("1.1"),
    "queue.release": lambda s: s.queue.release("1.1", delay_seconds=1, reason=SECRET),
    "queue.dead_letter": lambda s: s.queue.dead_letter("1.1", reason=SECRET),
    "queue.replay": lambda s: s.queue.replay("00000000000000000001"),
    "idempotency.reserve": lambda s: s.idempotency.reserve(SECRET, owner=SECRET, lease_seconds=1, ttl_seconds=1),
    "idempotency.complete": lambda s: s.idempotency.complete(SECRET, owner=SECRET, result=b"x"),
    "idempotency.abandon": lambda s: s.idempotency.abandon(SECRET, owner=SECRET),
    "cursors.advance": lambda s: s.cursors.advance(SECRET, expected=None, value=SECRET),
    "audit.append": lambda s: s.audit.append(
        AuditRecord(at=START, subject=SECRET, action="read.unmasked", resource_type="order", resource_id=SECRET)
    ),
}

READS: dict[str, Call] = {
    "ping": lambda s: s.ping(),
    "links.get": lambda s: s.links.get("ticket", SECRET),
    "links.find_by_order": lambda s: s.links.find_by_order(SECRET),
    "links.find_by_customer": lambda s: s.links.find_by_customer(SECRET),
    "links.scan": lambda s: s.links.scan(),
    "links.count": lambda s: s.links.count(),
    "queue.stats": lambda s: s.queue.stats(),
    "queue.dead_letters": lambda s: s.queue.dead_letters(),
    "queue.get_dead_letter": lambda s: s.queue.get_dead_letter("00000000000000000001"),
    "cursors.get": lambda s: s.cursors.get(SECRET),
    "audit.query": lambda s: s.audit.query(subject=SECRET),
}


async def timed(call: Awaitable[Any]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        await call
    except StorageUnavailableError as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("op", WRITES)
async def test_a_write_behind_another_processs_lock_fails_fast_without_data(
    op: str, opener: Opener, db_path: Path
) -> None:
    storage = await opener(timeout_seconds=TIMEOUT)
    with raw(db_path) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            error, elapsed = await timed(WRITES[op](storage))
        finally:
            holder.execute("ROLLBACK")

    assert isinstance(error, StorageUnavailableError), f"{op} did not fail while the file was locked"
    assert elapsed < BOUND, f"{op} took {elapsed:.2f}s"
    assert error.detail.startswith(f"sqlite {op}:")
    assert "locked" in error.detail
    assert SECRET not in error.detail
    assert SECRET not in repr(error.__cause__)
    # Once the lock is gone, the same call goes through.
    await WRITES[op](storage)


@pytest.mark.parametrize("op", READS)
async def test_reads_keep_working_while_another_process_writes(op: str, opener: Opener, db_path: Path) -> None:
    storage = await opener(timeout_seconds=TIMEOUT)
    with raw(db_path) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("DELETE FROM links")
        try:
            error, elapsed = await timed(READS[op](storage))
        finally:
            holder.execute("ROLLBACK")

    # A read that waited for the write lock would have failed: the lock outlives the call.
    assert error is None, f"{op} failed under WAL while another connection wrote: {error}"
    assert elapsed < BOUND


async def test_receive_takes_the_lock_only_when_there_is_something_to_deliver(opener: Opener, db_path: Path) -> None:
    storage = await opener(timeout_seconds=TIMEOUT)
    with raw(db_path) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            idle, idle_elapsed = await timed(storage.queue.receive("c1"))
        finally:
            holder.execute("ROLLBACK")
        await storage.queue.enqueue(NewEvent(message_id="m-1", key="k", payload=b""))
        holder.execute("BEGIN EXCLUSIVE")
        try:
            busy, busy_elapsed = await timed(storage.queue.receive("c1"))
        finally:
            holder.execute("ROLLBACK")

    # The lock outlives the call: an idle poll that waited for it would have failed as locked.
    assert idle is None, "an idle poll waited for another process's write lock"
    assert idle_elapsed < BOUND
    assert isinstance(busy, StorageUnavailableError)
    assert busy.detail.startswith("sqlite queue.receive: database is locked")
    assert busy_elapsed < BOUND
    [delivery] = await storage.queue.receive("c1")
    assert delivery.attempt == 1, "the failed receive must not have counted as a delivery"


async def test_calls_queued_behind_a_lock_wait_share_one_timeout(opener: Opener, db_path: Path) -> None:
    storage = await opener(timeout_seconds=TIMEOUT)
    with raw(db_path) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            results = await asyncio.gather(
                *(storage.links.put(link(f"r-{n}")) for n in range(30)), return_exceptions=True
            )
            elapsed = time.monotonic() - started
        finally:
            holder.execute("ROLLBACK")

    assert all(isinstance(result, StorageUnavailableError) for result in results)
    # 30 calls one after another would take 30 x TIMEOUT; their deadlines run concurrently.
    assert elapsed < BOUND, f"30 queued calls took {elapsed:.2f}s"


async def test_the_event_loop_and_reads_run_while_a_write_waits_for_a_lock(opener: Opener, db_path: Path) -> None:
    # A lock wait far longer than the test: the write can only finish once the holder lets go.
    storage = await opener(timeout_seconds=60.0)
    await storage.links.put(link("known"))
    with raw(db_path) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        try:
            waiting = asyncio.create_task(storage.links.put(link("blocked")))
            await asyncio.sleep(0)  # the write is handed to its lane; from here it waits for the lock
            assert not waiting.done()
            # A write blocking the loop, or a read queued behind the write, could only get here after the
            # write finished, which it cannot while the lock is held.
            found = await storage.links.get("ticket", "known")
            assert not waiting.done(), "the read waited for the write"
        finally:
            holder.execute("ROLLBACK")
        await waiting

    assert found is not None
    assert await storage.links.get("ticket", "blocked") is not None


async def test_a_runaway_statement_is_interrupted_at_the_deadline(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    lane = Lane("test", TIMEOUT)
    await lane.open(db_path, query_only=True)
    try:
        endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
        error, elapsed = await timed(lane.run("endless", lambda conn: conn.execute(endless).fetchall()))
        assert isinstance(error, StorageUnavailableError)
        assert error.detail == f"sqlite endless: did not finish within {TIMEOUT:g}s"
        assert elapsed < BOUND
        # The lane is still usable after an interrupted call.
        assert await lane.run("after", lambda conn: conn.execute("SELECT 42").fetchall()) == [(42,)]
    finally:
        await lane.close()


async def test_other_sqlite_errors_become_unavailable_naming_the_operation(opener: Opener, db_path: Path) -> None:
    storage = await opener(timeout_seconds=TIMEOUT)
    with raw(db_path) as conn:
        conn.execute("DROP TABLE links")

    with pytest.raises(StorageUnavailableError) as caught:
        await storage.links.get("ticket", SECRET)

    assert caught.value.detail == "sqlite links.get failed (SQLITE_ERROR)"


async def test_a_closed_storage_answers_unavailable(opener: Opener) -> None:
    storage = await opener()
    await storage.aclose()
    await storage.aclose()  # idempotent

    for call in (*WRITES.values(), *READS.values()):
        with pytest.raises(StorageUnavailableError, match="closed"):
            await call(storage)
