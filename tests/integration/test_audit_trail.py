"""Unmasked reads are audited (who, which resource, which fields, when) and can be queried."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.sandbox.commercetools.seed import DEMO_CUSTOMER_EMAIL, DEMO_ORDER_NUMBER
from app.storage.sqlite_backend import SqliteStorage
from tests.conftest import SandboxHandle
from tests.support import REPO, RedisProcess, auth, settings_for

pytestmark = pytest.mark.integration
READ = ["orders:read", "customers:read"]


@pytest.fixture
async def gateway(sandbox: SandboxHandle, tmp_path: Path) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(create_app(settings_for(sandbox.url, data_dir=str(tmp_path)))) as client:
        yield client


async def test_unmasked_reads_are_audited_and_masked_ones_are_not(
    gateway: AsyncTestClient[Litestar], tmp_path: Path
) -> None:
    masked = (await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(scopes=READ))).json()
    assert masked["masked"] is True
    assert masked["customerEmail"] != DEMO_CUSTOMER_EMAIL

    pii = auth(scopes=[*READ, "pii:read"])
    unmasked = await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers={**pii, "X-Correlation-ID": "t-1"})
    assert unmasked.json()["customerEmail"] == DEMO_CUSTOMER_EMAIL
    assert unmasked.json()["masked"] is False
    await gateway.get("/v1/lookup", params={"email": DEMO_CUSTOMER_EMAIL}, headers=pii)

    auditor = auth(scopes=["audit:read"])
    records = (await gateway.get("/v1/audit", headers=auditor)).json()["results"]
    assert [r["resourceType"] for r in records] == ["lookup", "order"]  # newest first
    order_record = records[1]
    assert (order_record["subject"], order_record["action"]) == ("agent-7", "read.unmasked")
    assert order_record["resourceId"] == unmasked.json()["id"]
    assert order_record["correlationId"] == "t-1"
    assert {"customerEmail", "shippingAddress", "billingAddress", "custom.giftMessage"} <= set(order_record["fields"])
    assert DEMO_CUSTOMER_EMAIL not in str(records)  # field names only, never values

    only_orders = (await gateway.get("/v1/audit", params={"resourceType": "order"}, headers=auditor)).json()
    assert len(only_orders["results"]) == 1
    assert (await gateway.get("/v1/audit", headers=auth(scopes=READ))).status_code == 403

    # The operator's view of the same trail.
    cli = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "app", "audit", "--data-dir", str(tmp_path), "--resource-type", "order"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode == 0, cli.stderr
    assert '"resourceType":"order"' in cli.stdout
    assert len(cli.stdout.splitlines()) == 1


async def test_no_audit_no_unmasked_answer(sandbox: SandboxHandle) -> None:
    """Fail closed: when the audit record cannot be written, pii:read callers get 503, not the data."""
    redis = RedisProcess()
    redis.start()
    try:
        app = create_app(settings_for(sandbox.url, redis_url=redis.url))
        async with AsyncTestClient(app) as client:
            redis.stop()
            refused = await client.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(scopes=[*READ, "pii:read"]))
            assert refused.status_code == 503
            assert DEMO_CUSTOMER_EMAIL not in refused.text
            masked = await client.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(scopes=READ))
            assert masked.status_code == 200  # the masked read path does not need storage
    finally:
        redis.stop()


async def test_audit_records_survive_in_the_embedded_store(gateway: AsyncTestClient[Litestar], tmp_path: Path) -> None:
    await gateway.get(f"/v1/orders/{DEMO_ORDER_NUMBER}", headers=auth(scopes=[*READ, "pii:read"]))
    store = await SqliteStorage.open(tmp_path / "gateway.sqlite3")
    try:
        assert [r.resource_type for r in await store.audit.query()] == ["order"]
    finally:
        await store.aclose()
