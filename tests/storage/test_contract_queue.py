"""Contract: ``EventQueue`` (app/storage/ports.py), run against every backend.

Delays, the dedupe window and (on SQLite) leases run on a ``StoreClock`` the test moves. Redis ends a
lease on its server clock, so there a test waits for real time to pass a short lease's end, and
checks that a lease is still live only with leases that cannot run out during a test (``LONG``).
Nothing depends on the machine's speed; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from app.storage.ports import DeadLetter, Delivery, EventQueue, NewEvent, QueueStats, Storage
from tests.storage.clock import StoreClock
from tests.support import queue_counts

if TYPE_CHECKING:
    from tests.storage.conftest import StorageFactory

LEASE = 0.2
"""A short lease, in seconds: a lease meant to run out."""
LONG = 3600.0
"""A lease or delay that does not run out during a test, on any clock."""


@pytest.fixture
def clock(storage_factory: StorageFactory) -> StoreClock:
    return StoreClock(storage_factory.backend)


@pytest.fixture
async def clocked(storage_factory: StorageFactory, clock: StoreClock) -> Storage:
    """A fresh, empty store on ``clock``."""
    return await storage_factory.open(clock=clock)


def event(number: int, *, key: str = "order-1") -> NewEvent:
    # Payloads are binary, not text: NUL and non-UTF-8 bytes must survive.
    return NewEvent(message_id=f"msg-{number}", key=key, payload=b"\x00\xff{payload-" + str(number).encode() + b"}")


async def only_first(queue: EventQueue, consumer: str) -> Delivery:
    received = await queue.receive(consumer, max_count=1, lease_seconds=LONG)
    assert len(received) == 1, f"expected exactly one delivery, got {[d.message_id for d in received]}"
    return received[0]


def ids(deliveries: list[Delivery]) -> list[str]:
    return [delivery.message_id for delivery in deliveries]


async def only(queue: EventQueue, consumer: str, *, lease_seconds: float = LONG) -> Delivery:
    received = await queue.receive(consumer, max_count=10, lease_seconds=lease_seconds)
    assert len(received) == 1, f"expected exactly one delivery, got {ids(received)}"
    return received[0]


def assert_utc_between(moment: datetime, start: datetime, end: datetime) -> None:
    assert moment.tzinfo is not None, f"{moment!r} is naive; ports.py: times are timezone-aware UTC"
    assert moment.utcoffset() == timedelta(0), f"{moment!r} is not UTC"
    slack = timedelta(seconds=1)
    assert start - slack <= moment <= end + slack, f"{moment} is not between {start} and {end}"


# -- enqueue / receive / ack --------------------------------------------------------------------


async def test_enqueue_receive_ack(storage: Storage) -> None:
    queue = storage.queue
    before = datetime.now(UTC)
    result = await queue.enqueue(event(1, key="order-7"))
    after = datetime.now(UTC)

    assert result.duplicate is False
    assert isinstance(result.entry_id, str)
    assert result.entry_id
    delivery = await only(queue, "c1")
    assert (delivery.message_id, delivery.key, delivery.payload, delivery.attempt) == (
        "msg-1",
        "order-7",
        b"\x00\xff{payload-1}",
        1,
    )
    assert_utc_between(delivery.enqueued_at, before, after)

    assert await queue.ack(delivery.entry_id) is True
    assert await queue.receive("c1") == []
    assert await queue.receive("c2") == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=0)
    assert await queue.ack(delivery.entry_id) is False, "a second ack of a removed entry is not an ack"


async def test_receive_on_an_empty_queue_returns_at_once(storage: Storage) -> None:
    # A receive that waited for an entry would wait here for ever; the bound only turns that into a failure.
    received = await asyncio.wait_for(storage.queue.receive("c1", max_count=10, lease_seconds=LONG), 30)
    assert received == [], "receive blocked on an empty queue"


async def test_receive_hands_out_oldest_first_and_at_most_max_count(storage: Storage) -> None:
    for number in range(5):
        await storage.queue.enqueue(event(number, key=f"order-{number % 2}"))

    first = await storage.queue.receive("c1", max_count=2, lease_seconds=LONG)
    rest = await storage.queue.receive("c1", max_count=10, lease_seconds=LONG)

    assert ids(first) == ["msg-0", "msg-1"]
    assert ids(rest) == ["msg-2", "msg-3", "msg-4"]
    assert [delivery.attempt for delivery in first + rest] == [1] * 5
    assert len({delivery.entry_id for delivery in first + rest}) == 5


async def test_duplicate_message_id_within_the_window_is_not_queued_again(storage: Storage) -> None:
    queue = storage.queue
    first = await queue.enqueue(event(1))
    second = await queue.enqueue(NewEvent(message_id="msg-1", key="order-other", payload=b"other"))

    assert first.duplicate is False
    assert second.duplicate is True
    assert second.entry_id is None
    delivery = await only(queue, "c1")
    assert delivery.payload == b"\x00\xff{payload-1}"
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=1, dead=0)

    assert await queue.ack(delivery.entry_id) is True
    # The window is time, not presence: an acked message id is still a duplicate.
    assert (await queue.enqueue(event(1))).duplicate is True
    assert await queue.receive("c1") == []


async def test_concurrent_enqueues_of_one_message_id_queue_it_once(storage: Storage) -> None:
    results = await asyncio.gather(*(storage.queue.enqueue(event(1)) for _ in range(20)))

    assert sorted(result.duplicate for result in results) == [False] + [True] * 19
    assert len(await storage.queue.receive("c1", max_count=50, lease_seconds=LONG)) == 1


async def test_dedupe_window_ends(storage_factory: StorageFactory, clock: StoreClock) -> None:
    window = 600.0
    storage = await storage_factory.open(dedupe_window_seconds=window, clock=clock)
    assert (await storage.queue.enqueue(event(1))).duplicate is False
    assert (await storage.queue.enqueue(event(1))).duplicate is True
    clock.advance(window - 1)
    assert (await storage.queue.enqueue(event(1))).duplicate is True, "the window ended early"

    clock.advance(2)

    again = await storage.queue.enqueue(event(1))
    assert again.duplicate is False, "enqueued again after the dedupe window, yet reported as duplicate"
    assert again.entry_id is not None


# -- leases, release, attempts ------------------------------------------------------------------


async def test_attempt_counts_every_delivery_after_release_and_after_lease_expiry(
    clocked: Storage, clock: StoreClock
) -> None:
    queue = clocked.queue
    await queue.enqueue(event(1))

    first = await only(queue, "c1")
    assert first.attempt == 1
    assert await queue.release(first.entry_id, delay_seconds=0, reason="upstream 503") is True

    second = await only(queue, "c1", lease_seconds=LEASE)
    assert second.attempt == 2
    await clock.outlive(LEASE)  # c1 "dies": its lease runs out

    third = await only(queue, "c2")
    assert third.attempt == 3
    assert await queue.release(third.entry_id, delay_seconds=0, reason="again") is True

    fourth = await only(queue, "c3")
    assert fourth.attempt == 4
    assert (fourth.message_id, fourth.payload) == ("msg-1", b"\x00\xff{payload-1}")
    assert fourth.enqueued_at == first.enqueued_at
    assert await queue.dead_letter(fourth.entry_id, reason="gave up") is True
    [dead] = await queue.dead_letters()
    assert dead.attempts == 4


async def test_entry_leased_to_a_consumer_is_not_handed_to_another(storage: Storage) -> None:
    queue = storage.queue
    for number in range(30):
        await queue.enqueue(event(number))

    c1 = await queue.receive("c1", max_count=10, lease_seconds=LONG)
    c2 = await queue.receive("c2", max_count=30, lease_seconds=LONG)

    assert len(c1) == 10
    assert len(c2) == 20
    assert set(ids(c1)).isdisjoint(ids(c2))
    assert await queue.receive("c3", max_count=30, lease_seconds=LONG) == []
    assert await queue.receive("c1", max_count=30, lease_seconds=LONG) == []
    assert (await queue.stats()).in_flight == 30


async def test_expired_lease_is_redelivered_to_another_consumer(clocked: Storage, clock: StoreClock) -> None:
    queue = clocked.queue
    await queue.enqueue(event(1))
    lost = await only(queue, "c1", lease_seconds=LEASE)
    if clock.drives_leases:  # on Redis, test_entry_leased_to_a_consumer_is_not_handed_to_another
        clock.advance(LEASE * 0.9)
        assert await queue.receive("c2", lease_seconds=LONG) == [], "the lease is still live"

    await clock.outlive(LEASE)
    taken = await only(queue, "c2")

    assert (taken.message_id, taken.key, taken.payload, taken.attempt) == ("msg-1", "order-1", lost.payload, 2)
    assert taken.enqueued_at == lost.enqueued_at
    assert await queue.receive("c3", lease_seconds=LONG) == [], "the new lease is live"
    assert await queue.ack(taken.entry_id) is True
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=0)


async def late_calls(queue: EventQueue, ack: Delivery, release: Delivery, dead_letter: Delivery) -> dict[str, bool]:
    """The three calls a consumer whose lease ran out might still make, one entry each."""
    return {
        "ack": await queue.ack(ack.entry_id),
        "release": await queue.release(release.entry_id, delay_seconds=0, reason="late"),
        "dead_letter": await queue.dead_letter(dead_letter.entry_id, reason="late"),
    }


async def test_late_ack_release_dead_letter_after_another_consumer_took_over_are_refused(
    clocked: Storage, clock: StoreClock
) -> None:
    queue = clocked.queue
    for number in range(1, 4):
        await queue.enqueue(event(number))
    lost = await queue.receive("c1", max_count=3, lease_seconds=LEASE)
    await clock.outlive(LEASE)
    taken = await queue.receive("c2", max_count=3, lease_seconds=LONG)
    assert [(delivery.message_id, delivery.attempt) for delivery in taken] == [
        ("msg-1", 2),
        ("msg-2", 2),
        ("msg-3", 2),
    ]

    answers = await late_calls(queue, *lost)

    assert answers == {"ack": False, "release": False, "dead_letter": False}, (
        "calls with the old consumer's delivery succeeded on an entry now leased to another consumer"
    )
    assert await queue.dead_letters() == []
    assert await queue.receive("c3", max_count=10, lease_seconds=LONG) == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=3, dead=0)
    assert [await queue.ack(delivery.entry_id) for delivery in taken] == [True, True, True]


async def test_late_ack_release_dead_letter_after_the_lease_ran_out_are_refused(
    clocked: Storage, clock: StoreClock
) -> None:
    queue = clocked.queue
    for number in range(1, 4):
        await queue.enqueue(event(number))
    late = await queue.receive("c1", max_count=3, lease_seconds=LEASE)

    await clock.outlive(LEASE)  # nobody has taken them over yet, but the leases are gone

    assert await late_calls(queue, *late) == {"ack": False, "release": False, "dead_letter": False}
    assert await queue.dead_letters() == []
    again = await queue.receive("c2", max_count=10, lease_seconds=LONG)
    assert [(delivery.message_id, delivery.attempt) for delivery in again] == [("msg-1", 2), ("msg-2", 2), ("msg-3", 2)]


async def test_release_with_delay_is_not_delivered_before_the_delay(clocked: Storage, clock: StoreClock) -> None:
    queue = clocked.queue
    delay = 30.0
    await queue.enqueue(event(1))
    first = await only(queue, "c1")

    assert await queue.release(first.entry_id, delay_seconds=delay, reason="rate limited") is True

    assert await queue.receive("c1", lease_seconds=LONG) == []
    assert await queue.receive("c2", lease_seconds=LONG) == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=1, in_flight=0, dead=0)
    clock.advance(delay - 0.01)
    assert await queue.receive("c2", lease_seconds=LONG) == [], "delivered before its delay"
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=1, in_flight=0, dead=0)

    clock.advance(0.02)
    again = await only(queue, "c2")

    assert (again.message_id, again.payload, again.attempt) == ("msg-1", first.payload, 2)


async def test_receive_order_is_expired_leases_then_due_delayed_then_new(clocked: Storage, clock: StoreClock) -> None:
    queue = clocked.queue
    for number in range(1, 5):
        await queue.enqueue(event(number))
    # A long lease for the one released while its lease is live, short ones for the two left to expire.
    [a] = await queue.receive("c1", max_count=1, lease_seconds=LONG)
    b, c = await queue.receive("c1", max_count=2, lease_seconds=LEASE)
    assert ids([a, b, c]) == ["msg-1", "msg-2", "msg-3"]
    # msg-1 (the oldest) is released: a due delayed entry. msg-2 and msg-3 are left to expire.
    assert await queue.release(a.entry_id, delay_seconds=0, reason="retry") is True

    await clock.outlive(LEASE)
    first = await queue.receive("c2", max_count=2, lease_seconds=LONG)
    rest = await queue.receive("c2", max_count=10, lease_seconds=LONG)

    assert ids(first) == ["msg-2", "msg-3"], "expired leases first, oldest first"
    assert ids(rest) == ["msg-1", "msg-4"], "then due delayed entries, then new ones"
    assert [delivery.attempt for delivery in first + rest] == [2, 2, 2, 1]


# -- dead letters and replay ----------------------------------------------------------------------


async def test_dead_letter_keeps_the_entry_with_its_attempts_and_reason(storage: Storage) -> None:
    queue = storage.queue
    await queue.enqueue(event(1, key="order-9"))
    first = await only(queue, "c1")
    await queue.release(first.entry_id, delay_seconds=0, reason="503")
    second = await only(queue, "c1")
    before = datetime.now(UTC)

    assert await queue.dead_letter(second.entry_id, reason="novomind rejected the memo (422)") is True
    after = datetime.now(UTC)

    [dead] = await queue.dead_letters()
    assert (dead.message_id, dead.key, dead.payload, dead.attempts, dead.reason) == (
        "msg-1",
        "order-9",
        b"\x00\xff{payload-1}",
        2,
        "novomind rejected the memo (422)",
    )
    assert dead.enqueued_at == first.enqueued_at
    assert_utc_between(dead.dead_at, before, after)
    assert dead.dead_at >= dead.enqueued_at
    assert await queue.get_dead_letter(dead.id) == dead
    assert await queue.receive("c2", lease_seconds=LONG) == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=1)
    assert await queue.ack(second.entry_id) is False, "a dead-lettered entry is not leased any more"
    assert await queue.dead_letter(second.entry_id, reason="twice") is False
    assert len(await queue.dead_letters()) == 1


async def test_dead_letters_are_ordered_by_id_in_the_order_they_died_and_page_with_after(storage: Storage) -> None:
    queue = storage.queue
    total = 12  # more than 9: ids must sort as strings too ("10" < "9")
    for number in range(total):
        await queue.enqueue(event(number))
    deliveries = await queue.receive("c1", max_count=total, lease_seconds=LONG)
    assert len(deliveries) == total
    dying_order = [deliveries[index] for index in (5, 0, 11, 3, 1, 10, 2, 9, 4, 8, 6, 7)]
    for delivery in dying_order:
        assert await queue.dead_letter(delivery.entry_id, reason=f"reason {delivery.message_id}") is True

    listed = await queue.dead_letters(limit=100)

    assert [dead.message_id for dead in listed] == ids(dying_order)
    assert [dead.reason for dead in listed] == [f"reason {delivery.message_id}" for delivery in dying_order]
    dead_ids = [dead.id for dead in listed]
    assert len(set(dead_ids)) == total
    assert dead_ids == sorted(dead_ids), f"dead-letter ids do not sort in the order entries died: {dead_ids}"

    paged: list[DeadLetter] = []
    after: str | None = None
    for _ in range(total + 1):
        page = await queue.dead_letters(limit=5, after=after)
        assert len(page) <= 5
        if not page:
            break
        paged.extend(page)
        after = page[-1].id
    assert paged == listed
    assert await queue.dead_letters(limit=3) == listed[:3]
    assert await queue.dead_letters(after=listed[-1].id) == []


async def test_replay_queues_a_dead_letter_once_as_a_new_first_attempt(storage: Storage) -> None:
    queue = storage.queue
    await queue.enqueue(event(1, key="order-3"))
    first = await only(queue, "c1")
    await queue.release(first.entry_id, delay_seconds=0, reason="503")
    await queue.dead_letter((await only(queue, "c1")).entry_id, reason="gave up")
    [dead] = await queue.dead_letters()

    new_entry = await queue.replay(dead.id)

    assert isinstance(new_entry, str)
    assert await queue.replay(dead.id) is None, "replaying twice must queue it once"
    assert await queue.get_dead_letter(dead.id) is None
    assert await queue.dead_letters() == []
    assert queue_counts(await queue.stats()) == QueueStats(ready=1, delayed=0, in_flight=0, dead=0)
    replayed = await only(queue, "c2")
    assert (replayed.message_id, replayed.key, replayed.payload, replayed.attempt) == (
        "msg-1",
        "order-3",
        b"\x00\xff{payload-1}",
        1,
    )
    assert await queue.ack(replayed.entry_id) is True
    assert await queue.receive("c2", lease_seconds=LONG) == []


async def test_concurrent_replays_of_one_dead_letter_queue_it_once(storage: Storage) -> None:
    queue = storage.queue
    await queue.enqueue(event(1))
    await queue.dead_letter((await only(queue, "c1")).entry_id, reason="gave up")
    [dead] = await queue.dead_letters()

    results = await asyncio.gather(*(queue.replay(dead.id) for _ in range(10)))

    assert sum(result is not None for result in results) == 1, f"replay results: {results}"
    assert len(await queue.receive("c2", max_count=20, lease_seconds=LONG)) == 1


async def test_unknown_ids_are_answered_not_raised(storage: Storage) -> None:
    queue = storage.queue
    await queue.enqueue(event(1))
    for unknown in ["not-an-id", "999999", "0-1", "9999999999999-0"]:
        assert await queue.ack(unknown) is False, unknown
        assert await queue.release(unknown, delay_seconds=0, reason="x") is False, unknown
        assert await queue.dead_letter(unknown, reason="x") is False, unknown
        assert await queue.get_dead_letter(unknown) is None, unknown
        assert await queue.replay(unknown) is None, unknown
    assert queue_counts(await queue.stats()) == QueueStats(ready=1, delayed=0, in_flight=0, dead=0)


# -- stats ------------------------------------------------------------------------------------------


async def test_stats_count_each_state(storage: Storage) -> None:
    queue = storage.queue
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=0)
    for number in range(5):
        await queue.enqueue(event(number))
    assert queue_counts(await queue.stats()) == QueueStats(ready=5, delayed=0, in_flight=0, dead=0)

    delayed, dead, acked = await queue.receive("c1", max_count=3, lease_seconds=LONG)
    assert queue_counts(await queue.stats()) == QueueStats(ready=2, delayed=0, in_flight=3, dead=0)
    await queue.release(delayed.entry_id, delay_seconds=LONG, reason="later")
    assert queue_counts(await queue.stats()) == QueueStats(ready=2, delayed=1, in_flight=2, dead=0)
    await queue.dead_letter(dead.entry_id, reason="bad")
    assert queue_counts(await queue.stats()) == QueueStats(ready=2, delayed=1, in_flight=1, dead=1)
    await queue.ack(acked.entry_id)
    assert queue_counts(await queue.stats()) == QueueStats(ready=2, delayed=1, in_flight=0, dead=1)


async def test_stats_once_time_has_passed(clocked: Storage, clock: StoreClock) -> None:
    """A delayed entry whose time has come is ready; an entry whose consumer died is still in flight."""
    queue = clocked.queue
    await queue.enqueue(event(1))
    await queue.enqueue(event(2))
    delayed = await only_first(queue, "c1")
    await queue.release(delayed.entry_id, delay_seconds=LEASE, reason="later")
    await only(queue, "c2", lease_seconds=LEASE)  # c2 dies with msg-2
    assert queue_counts(await queue.stats()) == QueueStats(ready=0, delayed=1, in_flight=1, dead=0)

    await clock.outlive(LEASE)

    assert queue_counts(await queue.stats()) == QueueStats(ready=1, delayed=0, in_flight=1, dead=0)


# -- many consumers ---------------------------------------------------------------------------------


async def run_consumers(queues: list[EventQueue], total: int) -> dict[str, list[int]]:
    """Consumers round-robin over ``queues``; every 5th message is released once, the rest acked.

    Returns each message id's delivery attempts in the order they were received.
    """
    attempts: dict[str, list[int]] = {}
    acked: set[str] = set()
    refused: list[str] = []
    consumers = 4
    # Consumers with nothing to do wait for another one's progress. Leases are long and releases due at
    # once, so when every consumer found nothing since the last progress, whatever is missing is lost:
    # the run ends there instead of on a timer.
    progress = asyncio.Condition()
    state = {"version": 0, "idle": 0, "stuck": False}

    def moved_since(version: int) -> bool:
        return state["version"] != version or bool(state["stuck"])

    async def consume(name: str, queue: EventQueue) -> None:
        while len(acked) < total and not state["stuck"]:
            seen = state["version"]
            batch = await queue.receive(name, max_count=7, lease_seconds=LONG)
            if not batch:
                async with progress:
                    if state["version"] != seen or len(acked) >= total:
                        continue
                    state["idle"] += 1
                    if state["idle"] == consumers:
                        state["stuck"] = True
                        progress.notify_all()
                        return
                    await progress.wait_for(functools.partial(moved_since, seen))
                    state["idle"] -= 1
                continue
            for delivery in batch:
                attempts.setdefault(delivery.message_id, []).append(delivery.attempt)
                number = int(delivery.message_id.removeprefix("msg-"))
                if number % 5 == 0 and delivery.attempt == 1:
                    if not await queue.release(delivery.entry_id, delay_seconds=0, reason="once"):
                        refused.append(f"release {delivery.message_id}")
                elif await queue.ack(delivery.entry_id):
                    acked.add(delivery.message_id)
                else:
                    refused.append(f"ack {delivery.message_id}")
            async with progress:
                state["version"] += 1
                progress.notify_all()

    await asyncio.gather(*(consume(f"consumer-{index}", queues[index % len(queues)]) for index in range(consumers)))
    assert refused == [], f"live leases were refused: {refused[:10]}"
    assert len(acked) == total, f"{total - len(acked)} entries were never handed out (every consumer found none)"
    return attempts


async def test_several_consumers_deliver_and_ack_every_entry_exactly_once(storage: Storage) -> None:
    total = 200
    await asyncio.gather(*(storage.queue.enqueue(event(number, key=f"order-{number % 13}")) for number in range(total)))

    attempts = await run_consumers([storage.queue], total)

    expected = {f"msg-{number}": [1, 2] if number % 5 == 0 else [1] for number in range(total)}
    assert attempts == expected, "an entry was lost or delivered while its lease was live"
    assert queue_counts(await storage.queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=0)


async def test_consumers_on_two_handles_of_one_store_share_the_queue(
    storage: Storage, storage_factory: StorageFactory
) -> None:
    """Two processes (``serve`` and ``push``, or two replicas) sharing one store see one queue."""
    peer = await storage_factory.open()
    total = 100
    for number in range(total):
        await (storage if number % 2 else peer).queue.enqueue(event(number))
    assert (await peer.queue.enqueue(event(0))).duplicate is True
    assert (await storage.queue.enqueue(event(1))).duplicate is True

    attempts = await run_consumers([storage.queue, peer.queue], total)

    expected = {f"msg-{number}": [1, 2] if number % 5 == 0 else [1] for number in range(total)}
    assert attempts == expected, "an entry was lost or delivered twice across handles"
    assert queue_counts(await peer.queue.stats()) == QueueStats(ready=0, delayed=0, in_flight=0, dead=0)


async def test_stats_name_when_the_oldest_waiting_entry_was_enqueued(clocked: Storage, clock: StoreClock) -> None:
    # What ctnm_push_oldest_event_age_seconds is computed from: it must follow acks and dead letters.
    queue = clocked.queue
    assert (await queue.stats()).oldest_enqueued_at is None
    first_at = clock()
    await queue.enqueue(event(1, key="order-1"))
    clock.advance(30)
    await queue.enqueue(event(2, key="order-2"))
    assert _to_ms((await queue.stats()).oldest_enqueued_at) == _to_ms(first_at)
    first, second = await queue.receive("c1", max_count=2, lease_seconds=LEASE)
    assert _to_ms((await queue.stats()).oldest_enqueued_at) == _to_ms(first_at), "a leased entry still waits"
    assert await queue.ack(first.entry_id)
    assert _to_ms((await queue.stats()).oldest_enqueued_at) == _to_ms(first_at + timedelta(seconds=30))
    assert await queue.dead_letter(second.entry_id, reason="test")
    assert (await queue.stats()).oldest_enqueued_at is None


def _to_ms(moment: datetime | None) -> int:
    """Enqueue times are kept to the millisecond on SQLite, to the microsecond on Redis."""
    assert moment is not None
    return int(moment.timestamp() * 1000)
