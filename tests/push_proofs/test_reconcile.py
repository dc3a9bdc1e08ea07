"""``ctnm reconcile`` against both sandboxes over loopback, on each backend: tickets in step are left
alone; a ticket someone edited, and one linked after its order's last change, are reported with the
fields that differ (names, not values), repaired through the queue without a memo, and in step after;
a ticket novomind does not know is reported unreachable (exit code 1).
"""

from __future__ import annotations

from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.asgi import build_reconciler
from app.mapping.loader import load_mappings
from app.novomind.client import NovomindClient, NovomindWrite
from app.push.reconcile import ReconcileReport
from app.settings import Settings
from app.storage.ports import Link, Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    STORAGE_PATH,
    Ledger,
    NovomindSim,
    OrderStream,
    candidate_orders,
    run_ctnm,
    running_pusher,
    seed,
    settings_of,
    wait_drained,
)
from tests.push_proofs.test_backfill import _backfill

pytestmark = pytest.mark.integration


async def _reconcile(settings: Settings, store: Storage, *, dry_run: bool = False, run: str = "t") -> ReconcileReport:
    mappings = load_mappings(Path(settings.gateway.mappings_dir))
    async with AsyncExitStack() as stack:
        reconciler = build_reconciler(settings, mappings, store, stack, run_id=run)
        return await reconciler.run(dry_run=dry_run)


async def _drain(settings: Settings, store: Storage) -> None:
    async with running_pusher(settings, store, workers=1):
        await wait_drained(store, timeout=30)
    assert await store.queue.dead_letters() == []


def _writes(ledger: Ledger) -> Counter[tuple[str, str]]:
    return Counter((request["method"], request["path"]) for request in ledger.writes())


async def test_reconcile_reports_drift_by_field_name_and_repairs_it_without_a_memo(
    sandbox: SandboxHandle, novomind: NovomindSim, store: Storage, env: dict[str, str]
) -> None:
    settings = settings_of(env, lease_seconds=30)
    orders = candidate_orders(sandbox.state.dataset, 3)
    streams = [OrderStream(order["id"], order["orderNumber"], 771001 + i) for i, order in enumerate(orders)]
    await seed(store, novomind, streams)
    await _backfill(settings, store, datetime.now(UTC) - timedelta(days=40))
    await _drain(settings, store)

    clean = await _reconcile(settings, store)
    assert (clean.checked, clean.in_step, clean.drifted, clean.unreachable, clean.repairs_queued) == (3, 3, (), (), 0)

    # Someone edits a ticket's order fields; another ticket is linked after its order's last change.
    edited, late = streams[0], 771101
    assert settings.novomind is not None
    client = NovomindClient(settings.novomind)
    try:
        await client.send(
            NovomindWrite(
                method="PUT",
                path=STORAGE_PATH.format(edited.ticket_id),
                body={"ct.shipmentState": "Tampered", "ct.note": "an agent's own key"},
                idempotency_key="manual-edit-1",
                template="/tickets/{ticketId}/storage",
            )
        )
    finally:
        await client.aclose()
    await novomind.seed_tickets([late])
    now = datetime.now(UTC)
    await store.links.put(
        Link(kind="ticket", reference=f"T-{late}", order_id=streams[1].order_id, linked_by="t", linked_at=now)
    )

    dry = await _reconcile(settings, store, dry_run=True)
    assert (dry.checked, dry.in_step, dry.repairs_queued) == (4, 2, 0)
    found = {(d.reference, d.order_id): d.fields for d in dry.drifted}
    assert found.pop((str(edited.ticket_id), edited.order_id)) == ("ct.shipmentState",)
    [((reference, order_id), fields)] = found.items()
    assert (reference, order_id) == (f"T-{late}", streams[1].order_id)
    # Every compared field the order has a value for (tracking only when it has a parcel).
    assert {"ct.orderId", "ct.orderNumber", "ct.orderState", "ct.paymentState", "ct.shipmentState"} <= set(fields)
    assert set(fields) <= {
        "ct.orderId",
        "ct.orderNumber",
        "ct.orderState",
        "ct.paymentState",
        "ct.shipmentState",
        "ct.trackingId",
        "ct.carrier",
    }
    assert (await store.queue.stats()).ready == 0, "a dry run queues nothing"

    before = _writes(await novomind.ledger())
    repaired = await _reconcile(settings, store, run="r1")
    assert (len(repaired.drifted), repaired.repairs_queued) == (2, 2)
    await _drain(settings, store)
    ledger = await novomind.ledger()
    after = _writes(ledger)
    new = after - before
    # A repair is per order: its state write goes to each of the order's tickets once (the same
    # values again where a ticket was in step), no memo, nothing to the other orders' tickets.
    assert new == Counter(
        {
            ("PUT", STORAGE_PATH.format(edited.ticket_id)): 1,
            ("PUT", STORAGE_PATH.format(late)): 1,
            ("PUT", STORAGE_PATH.format(streams[1].ticket_id)): 1,
        }
    )
    order = sandbox.state.dataset.orders[edited.order_id]
    assert ledger.storage_of(edited.ticket_id)["ct.shipmentState"] == order["shipmentState"]
    assert ledger.storage_of(edited.ticket_id)["ct.note"] == "an agent's own key", "a merge keeps other keys"

    settled = await _reconcile(settings, store, run="r2")
    assert (settled.checked, settled.in_step, settled.repairs_queued) == (4, 4, 0)

    # The command line: an unknown ticket is unreachable (exit 1); field names appear, values never.
    client = NovomindClient(settings.novomind)
    try:
        await client.send(
            NovomindWrite(
                method="PUT",
                path=STORAGE_PATH.format(edited.ticket_id),
                body={"ct.orderNumber": "Tampered-7"},
                idempotency_key="manual-edit-2",
                template="/tickets/{ticketId}/storage",
            )
        )
    finally:
        await client.aclose()
    await store.links.put(
        Link(kind="ticket", reference="779999", order_id=streams[2].order_id, linked_by="t", linked_at=now)
    )
    result = run_ctnm(env, "reconcile", "--dry-run")
    assert result.returncode == 1, result.stderr
    assert f"unreachable: ticket 779999 (order {streams[2].order_id}): ticket not found in novomind" in result.stdout
    assert (
        f"drifted: ticket {edited.ticket_id} (order {edited.order_id}): ct.orderNumber; would queue a repair"
        in result.stdout
    )
    assert "checked 5 tickets: 3 in step, 1 drifted, 1 unreachable; nothing repaired (--dry-run)" in result.stdout
    for value in ("Tampered-7", order["orderNumber"]):
        assert value not in result.stdout + result.stderr
