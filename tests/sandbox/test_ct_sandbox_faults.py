"""Fault injection, latency, request recording and the `/__sandbox/…` control routes."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.commercetools import (
    Fault,
    SandboxConfig,
    SandboxConnectionDroppedError,
    SandboxState,
    create_commercetools_sandbox,
)
from tests.sandbox.calls import CLIENT, bearer, fetch_token

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


async def test_status_fault_answers_commercetools_error_with_retry_after(
    ct_client: Client, ct_state: SandboxState, admin: Headers
) -> None:
    ct_state.faults.inject(Fault(path_contains="/orders", status=503, retry_after="2"))
    response = await ct_client.get("/demo/orders", headers=admin)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["statusCode"] == 503
    assert body["errors"][0]["code"] == "OverCapacity"
    assert (await ct_client.get("/demo/orders", headers=admin)).status_code == 200  # spent


@pytest.mark.parametrize(
    ("status", "code"), [(429, "TooManyRequests"), (500, "General"), (409, "ConcurrentModification")]
)
async def test_status_faults_carry_the_matching_error_code(
    ct_client: Client, ct_state: SandboxState, admin: Headers, status: int, code: str
) -> None:
    ct_state.faults.inject(Fault(status=status))
    response = await ct_client.get("/demo/stores", headers=admin)
    assert response.status_code == status
    assert response.json()["errors"][0]["code"] == code


async def test_401_fault_looks_like_an_expired_token(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(status=401))
    response = await ct_client.get("/demo/stores", headers=admin)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["error"] == "invalid_token"


async def test_times_counts_matching_requests_only(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(path_contains="/payments", method="GET", status=502, times=2))
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 200
    assert (await ct_client.get("/demo/payments", headers=admin)).status_code == 502
    assert (await ct_client.get("/demo/payments", headers=admin)).status_code == 502
    assert (await ct_client.get("/demo/payments", headers=admin)).status_code == 200
    assert ct_state.faults.armed == []


async def test_method_filter(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(method="POST", status=500))
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 200
    response = await ct_client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert response.status_code == 500


async def test_faults_apply_to_the_token_endpoint(ct_client: Client, ct_state: SandboxState) -> None:
    ct_state.faults.inject(Fault(path_contains="/oauth/token", status=503, retry_after="1"))
    response = await ct_client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT)
    assert response.status_code == 503
    assert await fetch_token(ct_client)


async def test_junk_body(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(body="junk"))
    response = await ct_client.get("/demo/stores", headers=admin)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        response.json()
    ct_state.faults.inject(Fault(body="junk", status=502))
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 502


async def test_truncated_body(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    whole = (await ct_client.get("/demo/stores", headers=admin)).content
    ct_state.faults.inject(Fault(body="truncated"))
    response = await ct_client.get("/demo/stores", headers=admin)
    assert response.status_code == 200
    assert whole.startswith(response.content)
    assert 0 < len(response.content) < len(whole)
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(response.content)


async def test_drop_connection_in_process(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(path_contains="/orders", drop_connection=True))
    with pytest.raises(SandboxConnectionDroppedError):
        await ct_client.get("/demo/orders", headers=admin)
    # Plain httpx in-process: the same exception, a ConnectionResetError, reaches the caller.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ct_client.app), base_url="http://ct") as raw:
        ct_state.faults.inject(Fault(drop_connection=True))
        with pytest.raises(ConnectionResetError):
            await raw.get("/demo/orders", headers=admin)


async def test_delay_only_fault_passes_through(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    ct_state.faults.inject(Fault(delay_ms=120))
    started = time.perf_counter()
    response = await ct_client.get("/demo/stores", headers=admin)
    assert time.perf_counter() - started >= 0.12
    assert response.status_code == 200
    assert response.json()["results"]


async def test_configured_latency_delays_every_response() -> None:
    app = create_commercetools_sandbox(SandboxConfig(latency_ms=80))
    async with AsyncTestClient(app) as client:
        started = time.perf_counter()
        await client.get("/demo/stores")
        assert time.perf_counter() - started >= 0.08


async def test_configured_latency_never_slows_a_control_route() -> None:
    # A latency no test could wait out: a control route that were slowed would reach the bound.
    app = create_commercetools_sandbox(SandboxConfig(latency_ms=3_600_000))
    async with AsyncTestClient(app) as client, asyncio.timeout(30):
        assert (await client.post("/__sandbox/reset")).status_code < 300


async def test_requests_are_recorded_without_credentials(
    ct_client: Client, ct_state: SandboxState, admin: Headers
) -> None:
    await ct_client.get(
        "/demo/orders",
        headers={**admin, "X-Correlation-ID": "c-1"},
        params=[("where", "orderNumber = :n"), ("var.n", "DE-1"), ("expand", "state")],
    )
    await ct_client.get("/demo/stores")
    first, second = ct_state.requests[-2:]
    assert (first.method, first.path, first.correlation_id, first.authorization_present) == (
        "GET",
        "/demo/orders",
        "c-1",
        True,
    )
    assert first.query == [("where", "orderNumber = :n"), ("var.n", "DE-1"), ("expand", "state")]
    assert second.authorization_present is False
    token = admin["Authorization"].split()[1]
    assert token.encode() not in msgspec.json.encode(ct_state.requests)


async def test_control_routes_over_http(ct_client: Client, ct_state: SandboxState, admin: Headers) -> None:
    response = await ct_client.post("/__sandbox/faults", json={"pathContains": "/stores", "status": 500, "times": 3})
    assert response.status_code == 201
    assert response.json()["pathContains"] == "/stores"
    armed = (await ct_client.get("/__sandbox/faults")).json()
    assert [(a["fault"]["status"], a["remaining"]) for a in armed] == [(500, 3)]
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 500
    assert (await ct_client.delete("/__sandbox/faults")).status_code == 204
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 200

    recorded = (await ct_client.get("/__sandbox/requests")).json()
    assert [r["path"] for r in recorded][-2:] == ["/demo/stores", "/demo/stores"]
    assert set(recorded[-1]) == {"method", "path", "query", "correlationId", "authorizationPresent", "traceparent"}
    assert not any(r["path"].startswith("/__sandbox") for r in recorded)

    assert (await ct_client.post("/__sandbox/expire-tokens")).status_code == 204
    assert (await ct_client.get("/demo/stores", headers=admin)).status_code == 401

    ct_state.faults.inject(Fault(status=500))
    assert (await ct_client.post("/__sandbox/reset")).status_code == 204
    assert ct_state.requests == []
    assert ct_state.faults.armed == []


async def test_control_routes_ignore_faults(ct_client: Client, ct_state: SandboxState) -> None:
    ct_state.faults.inject(Fault(drop_connection=True, times=5))
    assert (await ct_client.get("/__sandbox/requests")).status_code == 200
    assert len(ct_state.faults.armed) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"path_contains": "/orders"}',  # the wire format is camelCase; typos must not arm a catch-all
        b'{"times": 0}',
        b'{"status": 99}',
        b'{"body": "gibberish"}',
        b'{"delayMs": -1}',
    ],
)
async def test_invalid_faults_are_rejected(ct_client: Client, ct_state: SandboxState, body: bytes) -> None:
    response = await ct_client.post("/__sandbox/faults", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert ct_state.faults.armed == []


# -- over a real socket ------------------------------------------------------------------------------


@pytest.fixture
async def served(ct_app: Litestar, ct_state: SandboxState) -> AsyncIterator[str]:
    """The session's sandbox under uvicorn on a loopback port, in this test's event loop."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(ct_app, log_level="critical", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    # uvicorn exposes a flag, not an event. Only a server that cannot start reaches the bound.
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                await task  # it stopped before it started: its error is the failure
                raise AssertionError("the sandbox server exited before it started")
            await asyncio.sleep(0.005)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    sock.close()


@pytest.mark.integration
async def test_faults_over_loopback(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        token = (await client.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=CLIENT)).json()[
            "access_token"
        ]
        headers = bearer(token)
        await client.post("/__sandbox/faults", json={"dropConnection": True})
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/demo/orders", headers=headers)
        await client.post("/__sandbox/faults", json={"body": "truncated"})
        truncated = await client.get("/demo/orders", headers=headers)
        with pytest.raises(json.JSONDecodeError):
            truncated.json()
        # Spent faults leave the sandbox answering normally on the same connection pool.
        response = await client.get("/demo/orders", headers=headers)
        assert response.status_code == 200
        assert response.json()["count"] == 20
