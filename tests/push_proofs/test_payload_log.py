"""``GATEWAY_LOG_PAYLOADS`` reaches the pusher: what commercetools and novomind answered, redacted,
logged per operation template, and never a token."""

from __future__ import annotations

import httpx
import pytest

from app.push.intake import accept_delivery
from app.push.messages import decode_delivery
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import (
    Backend,
    NovomindSim,
    OrderStream,
    candidate_orders,
    change_order,
    encode_delivery,
    running_pusher,
    seed,
    settings_of,
    wait_drained,
)
from tests.unit.fakes import Collector

pytestmark = pytest.mark.integration

STORAGE = "/iMail/api/rest/tickets/{ticketId}/storage"
MEMOS = "/iMail/api/rest/processes/{processId}/memos"


async def test_the_pusher_logs_upstream_answers_when_payload_logging_is_on(
    sandbox: SandboxHandle,
    novomind: NovomindSim,
    backend: Backend,
    store: Storage,
    env: dict[str, str],
    app_logs: Collector,
) -> None:
    [order] = candidate_orders(sandbox.state.dataset, 1, skip=3)
    stream = OrderStream(order["id"], order["orderNumber"], 760001)
    await seed(store, novomind, [stream])
    settings = settings_of(env | {"GATEWAY_LOG_PAYLOADS": "true"}, lease_seconds=30)
    async with (
        httpx.AsyncClient(base_url=sandbox.url, timeout=30) as client,
        running_pusher(settings, store, workers=1),
    ):
        [shipped] = await change_order(
            client, order["id"], [{"type": "OrderShipmentStateChanged", "shipmentState": "Shipped"}]
        )
        await accept_delivery(store.queue, decode_delivery(encode_delivery(shipped, "platform")))
        await wait_drained(store, timeout=10)

    logged = {(line["direction"], line["operation"]) for line in app_logs.events("payload")}
    assert {("upstream", STORAGE), ("upstream", MEMOS)} <= logged
    assert ("upstream", "/orders/{id}") in logged  # the order read for its number, market and link
    secrets = [env["NOVOMIND_PASSWORD"], env["NOVOMIND_CLIENT_SECRET"], env["CTP_CLIENT_SECRET"]]
    assert not [text for text in app_logs.texts() for secret in secrets if secret in text]
    assert not [text for text in app_logs.texts() if "access_token" in text or "Bearer " in text]
