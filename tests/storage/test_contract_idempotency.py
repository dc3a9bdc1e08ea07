"""Contract: ``IdempotencyStore`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import Literal

from hypothesis import given
from hypothesis import strategies as st

from app.storage.ports import Reservation, Storage
from tests.storage.leases import LEASE, LONG, PAST_LEASE, PROPERTY

Op = Literal["reserve", "complete", "abandon"]
OWNERS = ["w1", "w2", "w3", "w4"]
STEPS = st.tuples(st.sampled_from(OWNERS), st.sampled_from(["reserve", "complete", "abandon"]))


def fresh_key() -> str:
    return f"push:order-1:{uuid.uuid4().hex}"


async def test_reserve_busy_complete_done(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()

    assert await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("acquired")
    busy = await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)
    assert busy.state == "busy"
    assert await store.complete(key, owner="w2", result=b"not mine") is False

    assert await store.complete(key, owner="w1", result=b"\x00memo-42\xff") is True

    for owner in ["w1", "w2", "w3"]:
        done = await store.reserve(key, owner=owner, lease_seconds=LONG, ttl_seconds=LONG)
        assert done == Reservation("done", b"\x00memo-42\xff"), owner
    assert await store.complete(key, owner="w1", result=b"again") is False, "done once; a second complete is refused"
    assert await store.complete(key, owner="w2", result=b"again") is False
    assert (await store.reserve(key, owner="w3", lease_seconds=LONG, ttl_seconds=LONG)).result == b"\x00memo-42\xff"


async def test_complete_without_result_records_empty_bytes(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()
    await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)

    assert await store.complete(key, owner="w1") is True

    assert await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("done", b"")


async def test_the_holder_may_reserve_its_own_key_again(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()
    await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)

    again = await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)

    assert again.state == "acquired", "only a lease held by *another* owner makes a key busy"
    assert await store.complete(key, owner="w1", result=b"r") is True


async def test_keys_are_independent(storage: Storage) -> None:
    store = storage.idempotency
    first, second = fresh_key(), fresh_key()
    await store.reserve(first, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)
    await store.complete(first, owner="w1", result=b"one")

    assert (await store.reserve(second, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "acquired"
    assert await store.complete(first, owner="w2") is False
    assert await store.reserve(first, owner="w3", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("done", b"one")


async def test_complete_of_a_key_never_reserved_is_refused(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()

    assert await store.complete(key, owner="w1", result=b"x") is False
    assert await store.abandon(key, owner="w1") is False
    assert (await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "acquired"


async def test_abandon_lets_another_owner_acquire_at_once(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()
    await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)

    assert await store.abandon(key, owner="w2") is False, "w2 does not hold it"
    assert (await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "busy"
    assert await store.abandon(key, owner="w1") is True

    assert (await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "acquired"
    assert await store.abandon(key, owner="w1") is False, "w1 no longer holds it"
    assert await store.complete(key, owner="w1", result=b"stale") is False
    assert (await store.reserve(key, owner="w3", lease_seconds=LONG, ttl_seconds=LONG)).state == "busy"
    assert await store.complete(key, owner="w2", result=b"w2") is True
    assert await store.reserve(key, owner="w3", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("done", b"w2")


async def test_abandon_after_complete_does_not_undo_it(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()
    await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)
    await store.complete(key, owner="w1", result=b"sent")

    await store.abandon(key, owner="w1")

    assert await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("done", b"sent")


async def test_expired_lease_is_taken_over_and_the_old_owner_can_no_longer_complete(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()
    await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)
    assert (await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "busy"
    # Its owner reserving again renews the lease from now: here to a short one, which then runs out.
    assert (await store.reserve(key, owner="w1", lease_seconds=LEASE, ttl_seconds=LONG)).state == "acquired"

    await asyncio.sleep(PAST_LEASE)  # past the lease: a slower machine only makes it more so

    assert (await store.reserve(key, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "acquired"
    assert await store.complete(key, owner="w1", result=b"late") is False
    assert await store.abandon(key, owner="w1") is False
    assert (await store.reserve(key, owner="w3", lease_seconds=LONG, ttl_seconds=LONG)).state == "busy"
    assert await store.complete(key, owner="w2", result=b"w2") is True
    assert await store.reserve(key, owner="w1", lease_seconds=LONG, ttl_seconds=LONG) == Reservation("done", b"w2")


async def test_expired_lease_and_expired_done_key_are_free_again(storage: Storage) -> None:
    store = storage.idempotency
    leased, done = fresh_key(), fresh_key()
    await store.reserve(leased, owner="w1", lease_seconds=LEASE, ttl_seconds=LONG)
    await store.reserve(done, owner="w1", lease_seconds=LONG, ttl_seconds=LEASE)
    await store.complete(done, owner="w1", result=b"r")
    # (That a done key answers "done" within its ttl is the first test's; asked here, it would race the short ttl.)

    await asyncio.sleep(PAST_LEASE)

    answers = {
        "own expired lease, reserved again by its owner": (
            await store.reserve(leased, owner="w1", lease_seconds=LONG, ttl_seconds=LONG)
        ).state,
        "done key past its ttl": (await store.reserve(done, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state,
    }
    assert answers == {
        "own expired lease, reserved again by its owner": "acquired",
        "done key past its ttl": "acquired",
    }
    assert (await store.reserve(leased, owner="w2", lease_seconds=LONG, ttl_seconds=LONG)).state == "busy"


async def test_concurrent_reserves_acquire_once(storage: Storage) -> None:
    store = storage.idempotency
    key = fresh_key()

    answers = await asyncio.gather(
        *(store.reserve(key, owner=f"w{number}", lease_seconds=LONG, ttl_seconds=LONG) for number in range(20))
    )

    assert sorted(answer.state for answer in answers) == ["acquired"] + ["busy"] * 19


# -- properties ---------------------------------------------------------------------------------------


class Model:
    """The documented rules for one key, with leases that do not run out."""

    def __init__(self) -> None:
        self.holder: str | None = None
        self.result: bytes | None = None

    def reserve(self, owner: str) -> str:
        if self.result is not None:
            return "done"
        if self.holder is not None and self.holder != owner:
            return "busy"
        self.holder = owner
        return "acquired"

    def complete(self, owner: str) -> bool:
        if self.result is not None or self.holder != owner:
            return False
        self.result = owner.encode()
        self.holder = None
        return True

    def abandon(self, owner: str) -> bool | None:
        """``None``: after completion the answer is not specified, only that it changes nothing."""
        if self.result is not None:
            return None
        if self.holder != owner:
            return False
        self.holder = None
        return True


@PROPERTY
@given(steps=st.lists(STEPS, max_size=25))
async def test_any_sequence_of_calls_follows_the_rules(storage: Storage, steps: list[tuple[str, Op]]) -> None:
    store = storage.idempotency
    key = fresh_key()
    model = Model()
    for number, (owner, op) in enumerate(steps):
        where = f"step {number}: {owner} {op} after {steps[:number]}"
        if op == "reserve":
            answer = await store.reserve(key, owner=owner, lease_seconds=LONG, ttl_seconds=LONG)
            expected = model.reserve(owner)
            assert answer.state == expected, where
            if expected == "done":
                assert answer.result == model.result, where
        elif op == "complete":
            assert await store.complete(key, owner=owner, result=owner.encode()) == model.complete(owner), where
        else:
            expected_abandon = model.abandon(owner)
            answered = await store.abandon(key, owner=owner)
            if expected_abandon is not None:
                assert answered == expected_abandon, where


@PROPERTY
@given(rounds=st.lists(st.lists(STEPS, min_size=1, max_size=4), min_size=1, max_size=6))
async def test_concurrent_owners_complete_at_most_once(storage: Storage, rounds: list[list[tuple[str, Op]]]) -> None:
    store = storage.idempotency
    key = fresh_key()

    async def call(owner: str, op: Op) -> tuple[str, Op, object]:
        if op == "reserve":
            return owner, op, (await store.reserve(key, owner=owner, lease_seconds=LONG, ttl_seconds=LONG)).state
        if op == "complete":
            return owner, op, await store.complete(key, owner=owner, result=owner.encode())
        return owner, op, await store.abandon(key, owner=owner)

    outcomes: list[tuple[str, Op, object]] = []
    for calls in rounds:
        outcomes.extend(await asyncio.gather(*(call(owner, op) for owner, op in calls)))

    winners = [owner for owner, op, answer in outcomes if op == "complete" and answer is True]
    assert len(winners) <= 1, f"more than one complete succeeded: {outcomes}"
    final = await store.reserve(key, owner="observer", lease_seconds=LONG, ttl_seconds=LONG)
    if winners:
        assert final == Reservation("done", winners[0].encode()), outcomes
    else:
        assert final.state in {"acquired", "busy"}, outcomes
