"""Contract: ``LinkStore`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.storage.ports import Link, Storage

if TYPE_CHECKING:
    from tests.storage.conftest import StorageFactory

AT = datetime(2024, 5, 1, 12, 30, 15, 123000, tzinfo=UTC)
"""Millisecond precision: every backend must give it back exactly."""
LATER = AT + timedelta(hours=1)

PROPERTY = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Kinds are TOML bare keys in mappings/links.toml; references are arbitrary strings. Digits, '-',
# '_' and the separators sort on both sides of ':' and '|', which catches backends that order a
# concatenated "kind<sep>reference" instead of the (kind, reference) pair.
KINDS = st.sampled_from(["ticket", "ticket-2", "ticket2", "ticket_x", "t", "process", "chat"]) | st.from_regex(
    r"[a-c][a-c0-9_-]{0,2}", fullmatch=True
)
REFERENCES = st.text(
    st.characters(categories=("Lu", "Ll", "Lo", "Nd")) | st.sampled_from(list(":/|-_.@ ")),
    min_size=1,
    max_size=10,
)
KEYS = st.tuples(KINDS, REFERENCES)


def link(
    reference: str = "1001",
    *,
    kind: str = "ticket",
    order_id: str | None = "order-1",
    order_number: str | None = "DE-1001",
    customer_id: str | None = "customer-1",
    process_id: str | None = None,
    store: str | None = "de",
    linked_by: str = "agent-a",
    linked_at: datetime = AT,
    version: int = 1,
) -> Link:
    return Link(
        kind=kind,
        reference=reference,
        order_id=order_id,
        order_number=order_number,
        customer_id=customer_id,
        process_id=process_id,
        store=store,
        linked_by=linked_by,
        linked_at=linked_at,
        version=version,
    )


def keys_of(links: list[Link]) -> list[tuple[str, str]]:
    return [(found.kind, found.reference) for found in links]


def assert_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None, f"{moment!r} is naive; ports.py: times are timezone-aware UTC"
    assert moment.utcoffset() == timedelta(0), f"{moment!r} is not UTC"


async def scan_all(storage: Storage, limit: int, *, guard: int) -> list[Link]:
    """Page through ``scan`` with the last key seen; ``guard`` bounds the pages (a stuck cursor fails)."""
    seen: list[Link] = []
    after: tuple[str, str] | None = None
    for _ in range(guard):
        page = await storage.links.scan(after=after, limit=limit)
        assert len(page) <= limit, f"scan(limit={limit}) returned {len(page)} links"
        if not page:
            return seen
        seen.extend(page)
        after = (page[-1].kind, page[-1].reference)
    raise AssertionError(f"scan did not finish within {guard} pages of {limit}; keys so far: {keys_of(seen)[:20]}")


def model_put(model: dict[tuple[str, str], Link], new: Link) -> bool:
    """The documented ``put`` rule, as a dict: the oracle for put/put_many."""
    key = (new.kind, new.reference)
    old = model.get(key)
    if old is not None and old.same_target(new):
        return False
    model[key] = msgspec.structs.replace(new, version=1 if old is None else old.version + 1)
    return True


# -- put / get --------------------------------------------------------------------------------------


async def test_put_new_link_stores_version_1_and_reports_changed(storage: Storage) -> None:
    stored, changed = await storage.links.put(link(process_id="P-77"))

    assert changed is True
    assert stored == link(process_id="P-77", version=1)
    assert_utc(stored.linked_at)
    assert await storage.links.get("ticket", "1001") == stored


async def test_put_new_link_starts_at_version_1_whatever_the_argument_says(storage: Storage) -> None:
    stored, changed = await storage.links.put(link(version=7))

    assert changed is True
    assert stored.version == 1
    fetched = await storage.links.get("ticket", "1001")
    assert fetched is not None
    assert fetched.version == 1


async def test_get_missing_link_is_none(storage: Storage) -> None:
    assert await storage.links.get("ticket", "404") is None
    await storage.links.put(link("1"))
    assert await storage.links.get("ticket", "2") is None
    assert await storage.links.get("process", "1") is None


async def test_linked_at_keeps_at_least_millisecond_precision(storage: Storage) -> None:
    precise = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    await storage.links.put(link(linked_at=precise))

    fetched = await storage.links.get("ticket", "1001")
    assert fetched is not None
    assert_utc(fetched.linked_at)
    assert abs(fetched.linked_at - precise) < timedelta(milliseconds=1)


async def test_identical_reput_is_a_noop_keeping_the_first_writer(storage: Storage) -> None:
    first, _ = await storage.links.put(link(linked_by="agent-a", linked_at=AT))

    again, changed = await storage.links.put(link(linked_by="agent-b", linked_at=LATER))

    assert changed is False
    assert again == first
    assert (again.version, again.linked_by, again.linked_at) == (1, "agent-a", AT)
    assert await storage.links.get("ticket", "1001") == first


async def test_changing_the_target_bumps_the_version_and_reindexes(storage: Storage) -> None:
    await storage.links.put(link(order_id="order-1", customer_id="customer-1"))

    second, changed = await storage.links.put(
        link(order_id="order-2", order_number="DE-2002", customer_id=None, linked_by="agent-b", linked_at=LATER)
    )

    assert changed is True
    assert second == link(
        order_id="order-2", order_number="DE-2002", customer_id=None, linked_by="agent-b", linked_at=LATER, version=2
    )
    assert await storage.links.get("ticket", "1001") == second
    assert await storage.links.find_by_order("order-1") == []
    assert await storage.links.find_by_customer("customer-1") == []
    assert await storage.links.find_by_order("order-2") == [second]


async def test_every_target_field_counts_as_a_change(storage: Storage) -> None:
    current, _ = await storage.links.put(link())
    edits: list[dict[str, Any]] = [
        {"order_number": "DE-9"},
        {"process_id": "P-1"},
        {"store": "at"},
        {"customer_id": "customer-2"},
        {"order_id": None},
    ]
    for number, edit in enumerate(edits, start=2):
        updated = msgspec.structs.replace(current, linked_at=AT + timedelta(minutes=number), **edit)
        current, changed = await storage.links.put(updated)
        assert changed is True, f"put with {edit} was not a change"
        assert current.version == number
    assert await storage.links.get("ticket", "1001") == current
    assert await storage.links.find_by_order("order-1") == []
    assert await storage.links.find_by_customer("customer-1") == []
    assert await storage.links.find_by_customer("customer-2") == [current]


# -- indexes ----------------------------------------------------------------------------------------


async def test_find_by_order_and_customer_order_by_kind_then_reference(storage: Storage) -> None:
    # Inserted out of order; "10" < "9" and "process" < "ticket" as strings.
    keys = [("ticket", "9"), ("process", "P-2"), ("ticket", "10"), ("chat", "z"), ("process", "P-10"), ("ticket", "1")]
    for kind, reference in keys:
        await storage.links.put(link(reference, kind=kind, order_id="order-1", customer_id="customer-1"))
    await storage.links.put(link("other", order_id="order-2", customer_id="customer-2"))

    by_order = await storage.links.find_by_order("order-1")
    by_customer = await storage.links.find_by_customer("customer-1")

    assert keys_of(by_order) == sorted(keys)
    assert keys_of(by_customer) == sorted(keys)
    for found in by_order:
        assert await storage.links.get(found.kind, found.reference) == found
    assert keys_of(await storage.links.find_by_order("order-2")) == [("ticket", "other")]
    assert await storage.links.find_by_order("order-3") == []
    assert await storage.links.find_by_customer("customer-3") == []


async def test_links_without_order_or_customer_are_not_indexed(storage: Storage) -> None:
    await storage.links.put(link("1", order_id=None, customer_id="customer-1"))
    await storage.links.put(link("2", order_id="order-1", customer_id=None))

    assert keys_of(await storage.links.find_by_order("order-1")) == [("ticket", "2")]
    assert keys_of(await storage.links.find_by_customer("customer-1")) == [("ticket", "1")]


async def test_delete_removes_the_link_and_its_index_entries(storage: Storage) -> None:
    await storage.links.put(link("1"))
    await storage.links.put(link("2"))

    assert await storage.links.delete("ticket", "1") is True

    assert await storage.links.get("ticket", "1") is None
    assert keys_of(await storage.links.find_by_order("order-1")) == [("ticket", "2")]
    assert keys_of(await storage.links.find_by_customer("customer-1")) == [("ticket", "2")]
    assert keys_of(await storage.links.scan()) == [("ticket", "2")]
    assert await storage.links.count() == 1
    assert await storage.links.delete("ticket", "1") is False
    assert await storage.links.delete("ticket", "never") is False


async def test_delete_then_put_starts_again_at_version_1(storage: Storage) -> None:
    await storage.links.put(link())
    await storage.links.put(link(order_id="order-2"))
    await storage.links.delete("ticket", "1001")

    stored, changed = await storage.links.put(link(order_id="order-3"))

    assert changed is True
    assert stored.version == 1
    assert keys_of(await storage.links.find_by_order("order-3")) == [("ticket", "1001")]
    assert await storage.links.find_by_order("order-2") == []


async def test_count_follows_puts_and_deletes(storage: Storage) -> None:
    assert await storage.links.count() == 0
    for number in range(5):
        await storage.links.put(link(str(number)))
    await storage.links.put(link("0"))  # no-op
    await storage.links.put(link("1", order_id="order-9"))  # change, not a new link
    assert await storage.links.count() == 5
    await storage.links.delete("ticket", "3")
    assert await storage.links.count() == 4


# -- scan ---------------------------------------------------------------------------------------------


@PROPERTY
@given(keys=st.sets(KEYS, max_size=16), limit=st.sampled_from([1, 2, 3, 7, 1000]), after=st.none() | KEYS)
async def test_scan_visits_every_link_once_in_key_order(
    storage_factory: StorageFactory, keys: set[tuple[str, str]], limit: int, after: tuple[str, str] | None
) -> None:
    async with storage_factory.fresh() as store:
        for kind, reference in keys:
            await store.links.put(link(reference, kind=kind, order_id=f"o-{kind}-{reference}"))

        visited = await scan_all(store, limit, guard=len(keys) + 2)

        assert keys_of(visited) == sorted(keys)
        for found in visited:
            assert found.order_id == f"o-{found.kind}-{found.reference}"
        tail = await store.links.scan(after=after, limit=1000)
        expected_tail = sorted(keys) if after is None else sorted(key for key in keys if key > after)
        assert keys_of(tail) == expected_tail
        assert await store.links.count() == len(keys)


async def test_scan_orders_by_kind_then_reference_not_by_a_joined_key(storage: Storage) -> None:
    # Joining kind and reference with a separator sorts "ticket2:a" before "ticket:a" ('2' < ':').
    keys = [
        ("ticket", "a"),
        ("ticket", "a:b"),
        ("ticket", "a/"),
        ("ticket", "a|"),
        ("ticket", "ä"),
        ("ticket", "b"),
        ("ticket-2", "a"),
        ("ticket2", "a"),
        ("ticket_x", "a"),
        ("t", "z"),
        ("tick", "0"),
    ]
    for kind, reference in reversed(keys):
        await storage.links.put(link(reference, kind=kind))

    assert keys_of(await scan_all(storage, 1, guard=len(keys) + 2)) == sorted(keys)
    assert keys_of(await scan_all(storage, 4, guard=len(keys) + 2)) == sorted(keys)
    assert keys_of(await storage.links.scan(after=("ticket", "b"))) == [k for k in sorted(keys) if k > ("ticket", "b")]


async def test_scan_after_a_key_that_does_not_exist(storage: Storage) -> None:
    for kind, reference in [("chat", "a"), ("ticket", "1"), ("ticket", "3"), ("ticket", "30")]:
        await storage.links.put(link(reference, kind=kind))

    assert keys_of(await storage.links.scan(after=("ticket", "2"))) == [("ticket", "3"), ("ticket", "30")]
    assert keys_of(await storage.links.scan(after=("process", "zzz"))) == [
        ("ticket", "1"),
        ("ticket", "3"),
        ("ticket", "30"),
    ]
    assert await storage.links.scan(after=("ticket", "4")) == []
    assert keys_of(await storage.links.scan(limit=2)) == [("chat", "a"), ("ticket", "1")]


async def test_scan_visits_every_link_once_while_links_are_being_written(storage: Storage) -> None:
    originals = {("ticket", f"{number:03d}") for number in range(0, 40, 2)}
    for kind, reference in originals:
        await storage.links.put(link(reference, kind=kind))

    visited: list[tuple[str, str]] = []
    after: tuple[str, str] | None = None
    for page_number in range(100):
        page = await storage.links.scan(after=after, limit=3)
        if not page:
            break
        visited.extend(keys_of(page))
        after = visited[-1]
        # Between pages: new links on both sides of the cursor, changed targets and no-op re-puts on
        # links already seen and not yet seen.
        await storage.links.put(link(f"{page_number * 2 + 1:03d}", order_id=f"order-new-{page_number}"))
        await storage.links.put(link(f"{39 - page_number * 2:03d}", order_id=f"order-moved-{page_number}"))
        await storage.links.put(link(f"{page_number * 2:03d}", order_id=f"order-moved-{page_number}"))
        await storage.links.put(link(f"{38 - page_number * 2:03d}"))
    else:
        raise AssertionError("scan did not finish within 100 pages")

    assert visited == sorted(set(visited)), "scan went backwards or repeated a link"
    assert originals <= set(visited), f"links never visited: {sorted(originals - set(visited))}"


# -- put_many ---------------------------------------------------------------------------------------

BATCH_LINKS = st.builds(
    link,
    st.sampled_from(["1", "2", "3"]),
    kind=st.sampled_from(["ticket", "process"]),
    order_id=st.sampled_from(["order-1", "order-2", None]),
    customer_id=st.sampled_from(["customer-1", None]),
    process_id=st.sampled_from(["P-1", None]),
    linked_by=st.sampled_from(["agent-a", "agent-b"]),
    linked_at=st.sampled_from([AT, LATER]),
)


@PROPERTY
@given(
    batches=st.lists(
        st.lists(BATCH_LINKS, max_size=6, unique_by=lambda new: (new.kind, new.reference)),
        min_size=1,
        max_size=5,
    )
)
async def test_put_many_has_the_semantics_of_repeated_put(
    storage_factory: StorageFactory, batches: list[list[Link]]
) -> None:
    model: dict[tuple[str, str], Link] = {}
    async with storage_factory.fresh() as store:
        for batch in batches:
            expected_changes = sum(model_put(model, new) for new in batch)
            assert await store.links.put_many(batch) == expected_changes
        for key, expected in model.items():
            assert await store.links.get(*key) == expected
        assert await store.links.count() == len(model)
        for order_id in ["order-1", "order-2"]:
            expected_keys = sorted(key for key, stored in model.items() if stored.order_id == order_id)
            assert keys_of(await store.links.find_by_order(order_id)) == expected_keys
        expected_customer = sorted(key for key, stored in model.items() if stored.customer_id == "customer-1")
        assert keys_of(await store.links.find_by_customer("customer-1")) == expected_customer


@settings(PROPERTY, max_examples=8)
@given(writes=st.lists(BATCH_LINKS, min_size=1, max_size=12))
async def test_put_follows_the_documented_version_rule(storage_factory: StorageFactory, writes: list[Link]) -> None:
    model: dict[tuple[str, str], Link] = {}
    async with storage_factory.fresh() as store:
        for new in writes:
            expected_changed = model_put(model, new)
            stored, changed = await store.links.put(new)
            assert (stored, changed) == (model[(new.kind, new.reference)], expected_changed)


async def test_put_many_with_one_reference_twice_applies_both_in_order(storage: Storage) -> None:
    changed = await storage.links.put_many(
        [link(order_id="order-1"), link(order_id="order-2", linked_at=LATER), link(order_id="order-2")]
    )

    assert changed == 2
    assert await storage.links.get("ticket", "1001") == link(order_id="order-2", linked_at=LATER, version=2)
    assert await storage.links.find_by_order("order-1") == []


async def test_put_many_of_nothing_changes_nothing(storage: Storage) -> None:
    assert await storage.links.put_many([]) == 0
    assert await storage.links.count() == 0


# -- concurrency ------------------------------------------------------------------------------------


async def test_concurrent_puts_to_one_reference_leave_exactly_one_fully_indexed_link(storage: Storage) -> None:
    writers = 50
    results = await asyncio.gather(
        *(
            storage.links.put(
                link(order_id=f"order-{number}", customer_id=f"customer-{number}", linked_by=f"w{number}")
            )
            for number in range(writers)
        )
    )

    assert all(changed for _, changed in results), "every target differs, so every put is a change"
    assert sorted(stored.version for stored, _ in results) == list(range(1, writers + 1)), (
        "atomic puts serialize: their versions are 1..N"
    )
    final = await storage.links.get("ticket", "1001")
    assert final is not None
    assert final.version == writers
    assert final in [stored for stored, _ in results]
    assert final.order_id is not None
    assert final.customer_id is not None
    winner = final.order_id.removeprefix("order-")
    assert final.customer_id == f"customer-{winner}", "order and customer come from different puts"
    assert await storage.links.count() == 1
    assert await storage.links.find_by_order(final.order_id) == [final]
    assert await storage.links.find_by_customer(final.customer_id) == [final]
    orphans = []
    for number in range(writers):
        if str(number) == winner:
            continue
        if await storage.links.find_by_order(f"order-{number}"):
            orphans.append(f"order-{number}")
        if await storage.links.find_by_customer(f"customer-{number}"):
            orphans.append(f"customer-{number}")
    assert orphans == [], f"index entries left by losing puts: {orphans}"
