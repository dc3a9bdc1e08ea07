"""Contract: ``AuditLog`` (app/storage/ports.py), run against every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from app.storage.ports import AuditLog, AuditRecord, Storage

BASE = datetime(2024, 5, 1, 8, 0, 0, 250000, tzinfo=UTC)


def record(
    number: int,
    *,
    subject: str = "agent-a",
    resource_type: str = "order",
    resource_id: str = "order-1",
    fields: tuple[str, ...] = (),
    correlation_id: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        at=BASE + timedelta(seconds=number),
        subject=subject,
        action="read.unmasked",
        resource_type=resource_type,
        resource_id=resource_id,
        fields=fields,
        correlation_id=correlation_id,
    )


async def append_all(log: AuditLog, records: list[AuditRecord]) -> list[AuditRecord]:
    """Append in order; the records as the log should give them back (with their ids)."""
    stored = []
    for item in records:
        stored.append(msgspec.structs.replace(item, id=await log.append(item)))
    return stored


async def test_append_returns_ids_that_sort_in_append_order(storage: Storage) -> None:
    ids = [await storage.audit.append(record(number)) for number in range(12)]  # past "9" < "10"

    assert all(record_id for record_id in ids), ids
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids), f"audit ids do not sort in append order: {ids}"


async def test_query_returns_every_field_as_appended_newest_first(storage: Storage) -> None:
    appended = await append_all(
        storage.audit,
        [
            record(0, subject="agent-ä", fields=("email", "phone", "shippingAddress"), correlation_id="corr-1"),
            record(1, subject="svc:pusher", resource_type="customer", resource_id="cust-1"),
            msgspec.structs.replace(record(2), action="link.put"),
        ],
    )

    found = await storage.audit.query()

    assert found == appended[::-1]
    for item in found:
        assert item.at.utcoffset() == timedelta(0), f"{item.at!r} is not timezone-aware UTC"


async def test_at_keeps_at_least_millisecond_precision(storage: Storage) -> None:
    precise = datetime(2024, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
    await storage.audit.append(msgspec.structs.replace(record(0), at=precise))

    [found] = await storage.audit.query()

    assert abs(found.at - precise) < timedelta(milliseconds=1)


async def test_query_filters_by_subject_and_resource(storage: Storage) -> None:
    appended = await append_all(
        storage.audit,
        [
            record(0, subject="agent-a", resource_type="order", resource_id="order-1"),
            record(1, subject="agent-b", resource_type="order", resource_id="order-1"),
            record(2, subject="agent-a", resource_type="customer", resource_id="order-1"),
            record(3, subject="agent-a", resource_type="order", resource_id="order-2"),
            record(4, subject="agent-b", resource_type="customer", resource_id="cust-1"),
        ],
    )
    newest_first = appended[::-1]
    audit = storage.audit

    assert await audit.query(subject="agent-a") == [item for item in newest_first if item.subject == "agent-a"]
    assert await audit.query(resource_type="customer") == [newest_first[0], newest_first[2]]
    assert await audit.query(resource_id="order-1") == [newest_first[2], newest_first[3], newest_first[4]]
    assert await audit.query(resource_type="order", resource_id="order-1") == [newest_first[3], newest_first[4]]
    assert await audit.query(subject="agent-b", resource_type="order", resource_id="order-1") == [appended[1]]
    assert await audit.query(subject="agent-c") == []
    assert await audit.query(subject="agent") == [], "subject is an exact match, not a prefix"


async def test_query_filters_by_time_window(storage: Storage) -> None:
    appended = await append_all(storage.audit, [record(number) for number in range(8)])
    newest_first = appended[::-1]
    audit = storage.audit
    between = timedelta(milliseconds=500)

    assert await audit.query(since=appended[3].at - between) == newest_first[:5]
    assert await audit.query(until=appended[2].at + between) == newest_first[5:]
    window = await audit.query(since=appended[2].at - between, until=appended[5].at + between)
    assert window == [appended[5], appended[4], appended[3], appended[2]]
    assert await audit.query(since=appended[7].at + between) == []


async def test_time_window_is_half_open(storage: Storage) -> None:
    appended = await append_all(storage.audit, [record(number) for number in range(4)])
    # since <= at < until: a record stamped exactly at a window's end belongs to the next window.
    assert await storage.audit.query(since=appended[1].at, until=appended[3].at) == [appended[2], appended[1]]
    assert await storage.audit.query(since=appended[3].at) == [appended[3]]


async def test_limit_and_before_page_through_everything_once(storage: Storage) -> None:
    appended = await append_all(
        storage.audit,
        [record(number, subject="agent-a" if number % 3 else "agent-b") for number in range(14)],
    )
    audit = storage.audit

    assert await audit.query(limit=5) == appended[::-1][:5]

    for subject in [None, "agent-a"]:
        expected = [item for item in appended[::-1] if subject is None or item.subject == subject]
        pages: list[AuditRecord] = []
        before: str | None = None
        for _ in range(len(expected) + 1):
            page = await audit.query(subject=subject, limit=4, before=before)
            assert len(page) <= 4
            if not page:
                break
            pages.extend(page)
            before = page[-1].id
        assert pages == expected, f"paging with before (subject={subject}) did not visit every record once"

    assert await audit.query(before=appended[5].id) == appended[:5][::-1]
    assert await audit.query(before=appended[0].id) == []
