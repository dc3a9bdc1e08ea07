"""Contract: ``SequenceGates`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Literal

from hypothesis import given
from hypothesis import strategies as st

from app.storage.ports import Storage
from tests.storage.leases import LEASE, LONG, PAST_LEASE, PROPERTY

FIRST_LEASE = 1.0

if TYPE_CHECKING:
    from tests.storage.conftest import StorageFactory


def fresh_resource() -> str:
    return f"order:{uuid.uuid4()}"


async def test_enter_busy_leave_with_mark_enter_again(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()

    first = await gates.enter(resource, lease_seconds=LONG)
    assert (first.state, first.mark) == ("entered", None)
    assert (await gates.enter(resource, lease_seconds=LONG)).state == "busy"
    assert await gates.leave(resource, ticket=first.ticket, mark="3@7") is True

    second = await gates.enter(resource, lease_seconds=LONG)
    assert (second.state, second.mark) == ("entered", "3@7")
    assert second.ticket > first.ticket


async def test_leaving_without_a_mark_keeps_the_stored_one(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    entry = await gates.enter(resource, lease_seconds=LONG)
    await gates.leave(resource, ticket=entry.ticket, mark="1@1")
    entry = await gates.enter(resource, lease_seconds=LONG)
    assert await gates.leave(resource, ticket=entry.ticket) is True
    assert (await gates.enter(resource, lease_seconds=LONG)).mark == "1@1"


async def test_resources_are_independent(storage: Storage) -> None:
    gates = storage.gates
    one, other = fresh_resource(), fresh_resource()
    entry = await gates.enter(one, lease_seconds=LONG)
    assert (await gates.enter(other, lease_seconds=LONG)).state == "entered"
    await gates.leave(one, ticket=entry.ticket, mark="5@0")
    assert (await gates.enter(other, lease_seconds=LONG)).state == "busy"
    assert (await gates.enter(one, lease_seconds=LONG)).mark == "5@0"


async def test_a_left_entry_can_neither_renew_nor_leave_again(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    entry = await gates.enter(resource, lease_seconds=LONG)
    await gates.leave(resource, ticket=entry.ticket, mark="1@0")

    assert await gates.renew(resource, ticket=entry.ticket, lease_seconds=LONG) is False
    assert await gates.leave(resource, ticket=entry.ticket, mark="9@9") is False
    assert (await gates.enter(resource, lease_seconds=LONG)).mark == "1@0"


async def test_an_expired_entry_is_fenced_off_whether_or_not_anyone_entered_since(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    # Entered on a long lease, so the renewal cannot lose a race against it; renewed to a short one.
    stalled = await gates.enter(resource, lease_seconds=LONG)
    assert await gates.renew(resource, ticket=stalled.ticket, lease_seconds=LEASE) is True

    await asyncio.sleep(PAST_LEASE)  # past the lease: a slower machine only makes it more so
    # Nobody entered: the lease ran out all the same.
    assert await gates.renew(resource, ticket=stalled.ticket, lease_seconds=LONG) is False
    assert await gates.leave(resource, ticket=stalled.ticket, mark="9@9") is False

    later = await gates.enter(resource, lease_seconds=LONG)
    assert (later.state, later.mark) == ("entered", None)
    assert await gates.leave(resource, ticket=later.ticket, mark="2@0") is True
    # The later holder has left too: the stalled entry still cannot act.
    assert await gates.renew(resource, ticket=stalled.ticket, lease_seconds=LONG) is False
    assert await gates.leave(resource, ticket=stalled.ticket, mark="9@9") is False
    assert (await gates.enter(resource, lease_seconds=LONG)).mark == "2@0"


async def test_renewing_keeps_the_gate_past_its_first_lease(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    # The first lease is long enough for the renewal to reach the store on a loaded machine, and the
    # renewed one cannot run out during the test: only "past the first lease" depends on waiting.
    entry = await gates.enter(resource, lease_seconds=FIRST_LEASE)
    assert await gates.renew(resource, ticket=entry.ticket, lease_seconds=LONG) is True
    await asyncio.sleep(FIRST_LEASE + PAST_LEASE)
    assert (await gates.enter(resource, lease_seconds=LONG)).state == "busy"
    assert await gates.leave(resource, ticket=entry.ticket, mark="4@0") is True


async def test_a_mark_stored_while_holding_is_what_the_next_entry_reads(storage: Storage) -> None:
    """Write-ahead: the holder records the mark before its writes leave and keeps the gate."""
    gates = storage.gates
    resource = fresh_resource()
    entry = await gates.enter(resource, lease_seconds=LONG)
    assert await gates.renew(resource, ticket=entry.ticket, lease_seconds=LONG, mark="2@9!pending") is True
    assert (await gates.enter(resource, lease_seconds=LONG)).state == "busy", "storing a mark does not open the gate"
    assert await gates.leave(resource, ticket=entry.ticket) is True
    assert (await gates.enter(resource, lease_seconds=LONG)).mark == "2@9!pending"


async def test_a_holder_that_died_after_a_write_ahead_mark_leaves_it_to_the_next(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    crashed = await gates.enter(resource, lease_seconds=LONG)
    assert await gates.renew(resource, ticket=crashed.ticket, lease_seconds=LEASE, mark="3@12!pending") is True
    await asyncio.sleep(PAST_LEASE)  # it never leaves: its lease runs out
    later = await gates.enter(resource, lease_seconds=LONG)
    assert (later.state, later.mark) == ("entered", "3@12!pending")


async def test_a_fenced_off_entry_cannot_store_a_write_ahead_mark(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()
    stalled = await gates.enter(resource, lease_seconds=LEASE)
    await asyncio.sleep(PAST_LEASE)
    later = await gates.enter(resource, lease_seconds=LONG)
    assert await gates.renew(resource, ticket=stalled.ticket, lease_seconds=LONG, mark="9@99") is False
    assert await gates.leave(resource, ticket=later.ticket, mark="1@1") is True
    assert await gates.renew(resource, ticket=stalled.ticket, lease_seconds=LONG, mark="9@99") is False
    assert (await gates.enter(resource, lease_seconds=LONG)).mark == "1@1"


async def test_another_handle_sees_the_same_gates(storage: Storage, storage_factory: StorageFactory) -> None:
    other = await storage_factory.open()
    resource = fresh_resource()
    entry = await storage.gates.enter(resource, lease_seconds=LONG)
    assert (await other.gates.enter(resource, lease_seconds=LONG)).state == "busy"
    await storage.gates.leave(resource, ticket=entry.ticket, mark="8@2")
    assert (await other.gates.enter(resource, lease_seconds=LONG)).mark == "8@2"


async def test_concurrent_entries_admit_one(storage: Storage) -> None:
    gates = storage.gates
    resource = fresh_resource()

    answers = await asyncio.gather(*(gates.enter(resource, lease_seconds=LONG) for _ in range(20)))

    assert sorted(answer.state for answer in answers) == ["busy"] * 19 + ["entered"]


# -- properties ---------------------------------------------------------------------------------------

Op = Literal["enter", "renew", "renew-marked", "leave", "leave-marked"]
# Each step names one of a few callers; a caller acts with the ticket of its own latest entry.
STEPS = st.tuples(
    st.sampled_from(["w1", "w2", "w3"]), st.sampled_from(["enter", "renew", "renew-marked", "leave", "leave-marked"])
)


class Model:
    """The documented rules for one gate, with leases that do not run out."""

    def __init__(self) -> None:
        self.inside: str | None = None
        self.mark: str | None = None
        self.latest: dict[str, int] = {}
        self.ticket = 0

    def holds(self, caller: str) -> bool:
        return self.inside == caller and self.latest.get(caller) == self.ticket


@PROPERTY
@given(steps=st.lists(STEPS, max_size=30))
async def test_any_sequence_of_calls_follows_the_rules(storage: Storage, steps: list[tuple[str, Op]]) -> None:
    gates = storage.gates
    resource = fresh_resource()
    model = Model()
    tickets: dict[str, int] = {}
    for number, (caller, op) in enumerate(steps):
        where = f"step {number}: {caller} {op} after {steps[:number]}"
        if op == "enter":
            entry = await gates.enter(resource, lease_seconds=LONG)
            if model.inside is not None:
                assert entry.state == "busy", where
                continue
            assert (entry.state, entry.mark) == ("entered", model.mark), where
            assert entry.ticket > model.ticket, where
            model.inside, model.ticket = caller, entry.ticket
            model.latest[caller] = tickets[caller] = entry.ticket
        elif caller not in tickets:
            continue
        elif op in {"renew", "renew-marked"}:
            mark = f"{number}@1" if op == "renew-marked" else None
            answer = await gates.renew(resource, ticket=tickets[caller], lease_seconds=LONG, mark=mark)
            assert answer == model.holds(caller), where
            if answer and mark is not None:
                model.mark = mark
        else:
            mark = f"{number}@0" if op == "leave-marked" else None
            answer = await gates.leave(resource, ticket=tickets[caller], mark=mark)
            assert answer == model.holds(caller), where
            if answer:
                model.inside = None
                model.mark = mark if mark is not None else model.mark
