"""The HTTP contract of the gateway, with commercetools scripted by httpx.MockTransport.

Status codes, problem+json bodies, WWW-Authenticate, correlation ids, and that rejected
requests never reach commercetools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Controller, Litestar, get
from litestar.testing import AsyncTestClient

from app.api.security import check_routes_declare_access
from app.asgi import create_app
from tests.support import FIXTURES, auth, settings_for, token

ORDER = (FIXTURES / "order-import-create.example.json").read_bytes() if FIXTURES.is_dir() else b""
CANARY = "CANARY-7f3a"


class ScriptedCommercetools:
    """Token endpoint plus an order endpoint whose answer each test chooses."""

    def __init__(self) -> None:
        self.api_calls: list[httpx.Request] = []
        self.answer: Callable[[httpx.Request], httpx.Response] = lambda _: httpx.Response(200, content=ORDER)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 172800})
        self.api_calls.append(request)
        return self.answer(request)


@pytest.fixture
def ct() -> ScriptedCommercetools:
    return ScriptedCommercetools()


@pytest.fixture
async def client(ct: ScriptedCommercetools) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for("http://ct.test", max_attempts=2, deadline_seconds=2)
    app = create_app(settings, commercetools_transport=httpx.MockTransport(ct))
    async with AsyncTestClient(app) as test_client:
        yield test_client


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["correlationId"] == response.headers["x-correlation-id"]
    return body


async def test_order_found(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools) -> None:
    response = await client.get("/v1/orders/100000001", headers=auth())
    assert response.status_code == 200
    assert response.json()["orderNumber"] == "100000001"
    (call,) = ct.api_calls
    assert call.url.path == "/demo/orders/order-number=100000001"
    assert call.headers["x-correlation-id"] == response.headers["x-correlation-id"]


async def test_inbound_correlation_id_is_adopted_and_forwarded(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools
) -> None:
    response = await client.get("/v1/orders/100000001", headers={**auth(), "X-Correlation-ID": "ticket-4711"})
    assert response.headers["x-correlation-id"] == "ticket-4711"
    assert ct.api_calls[0].headers["x-correlation-id"] == "ticket-4711"
    hostile = await client.get("/v1/orders/100000001", headers={**auth(), "X-Correlation-ID": "a\tb" * 100})
    assert hostile.headers["x-correlation-id"].startswith("ctnm-")


async def test_missing_order_is_404(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools) -> None:
    ct.answer = lambda _: httpx.Response(404, json={"statusCode": 404, "errors": [{"code": "ResourceNotFound"}]})
    body = _problem(await client.get("/v1/orders/NOPE-1", headers=auth()), 404)
    assert body["detail"] == "order not found"


async def test_no_token_is_401_with_bare_challenge(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools
) -> None:
    response = await client.get("/v1/orders/100000001")
    _problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert ct.api_calls == []


@pytest.mark.parametrize(
    "header",
    [
        "Bearer not-a-jwt",
        f"Bearer {token(ttl=-120)}",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ4In0.",
    ],
)
async def test_bad_token_is_401(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, header: str) -> None:
    response = await client.get("/v1/orders/100000001", headers={"Authorization": header})
    _problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert ct.api_calls == []


async def test_missing_scope_is_403(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools) -> None:
    body = _problem(await client.get("/v1/orders/100000001", headers=auth(scopes=["customers:read"])), 403)
    assert "orders:read" in str(body["detail"])
    assert ct.api_calls == []


@pytest.mark.parametrize(
    "order_number",
    ["x%22%20or%20id%20is%20defined%20or%20orderNumber%3D%22", "A" * 65, "-leading-dash", "with%20space", "%00"],
)
async def test_impossible_order_number_is_422_without_upstream_call(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, order_number: str
) -> None:
    body = _problem(await client.get(f"/v1/orders/{order_number}", headers=auth()), 422)
    assert body["invalid-params"][0]["name"] == "orderNumber"  # type: ignore[index]
    assert ct.api_calls == []


async def test_undecodable_upstream_payload_is_502_without_the_body(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, caplog: pytest.LogCaptureFixture
) -> None:
    ct.answer = lambda _: httpx.Response(200, content=ORDER[: len(ORDER) // 2] + CANARY.encode())
    response = await client.get("/v1/orders/100000001", headers=auth())
    _problem(response, 502)
    assert CANARY not in response.text
    assert all(CANARY not in r.getMessage() and CANARY not in str(getattr(r, "fields", "")) for r in caplog.records)


async def test_wrong_types_upstream_is_502(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools) -> None:
    broken = msgspec.json.decode(ORDER)
    broken["totalPrice"]["centAmount"] = CANARY
    ct.answer = lambda _: httpx.Response(200, json=broken)
    response = await client.get("/v1/orders/100000001", headers=auth())
    _problem(response, 502)
    assert CANARY not in response.text


async def test_upstream_unavailable_is_503_with_retry_after(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools
) -> None:
    ct.answer = lambda _: httpx.Response(503, headers={"Retry-After": "0"}, json={"statusCode": 503})
    response = await client.get("/v1/orders/100000001", headers=auth())
    _problem(response, 503)
    assert response.headers["retry-after"] == "1"
    assert len(ct.api_calls) == 2  # max_attempts


async def test_upstream_rejecting_our_credentials_is_502(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools
) -> None:
    ct.answer = lambda _: httpx.Response(403, json={"statusCode": 403, "errors": [{"code": "insufficient_scope"}]})
    body = _problem(await client.get("/v1/orders/100000001", headers=auth()), 502)
    assert "403" in str(body["detail"])
    assert len(ct.api_calls) == 1


async def test_unknown_route_is_problem_404(client: AsyncTestClient[Litestar]) -> None:
    _problem(await client.get("/v1/nothing-here", headers=auth()), 404)


async def test_health_needs_no_token(client: AsyncTestClient[Litestar]) -> None:
    from app import __version__

    assert (await client.get("/healthz")).json() == {"status": "ok", "version": __version__}
    ready = (await client.get("/readyz")).json()
    assert (ready["status"], ready["version"]) == ("ready", __version__)
    assert {name: check["state"] for name, check in ready["checks"].items()} == {
        "storage": "ok",
        "commercetools": "ok",
    }


def test_a_route_without_a_declared_scope_is_refused_at_start_up() -> None:
    class Forgetful(Controller):
        path = "/v1/forgotten"

        @get("/")
        async def forgotten(self) -> str:
            return "open to anyone"

    with pytest.raises(RuntimeError, match=r"Forgetful\.forgotten declares no known scope"):
        check_routes_declare_access([Forgetful])


def test_fixture_present() -> None:
    assert Path(FIXTURES / "order-import-create.example.json").is_file()
