"""NovomindClient against the built-in iAGENT sandbox served by uvicorn on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

import httpx
import pytest

from app.errors import NotFoundError, UpstreamRejectedError, UpstreamUnavailableError
from app.http_pool import Endpoint, KeepAliveTransport
from app.novomind import NovomindClient, NovomindWrite
from app.sandbox.novomind import NovomindSandboxConfig
from app.settings import NovomindSettings, Secret
from tests.novomind.conftest import NovomindSandbox

pytestmark = pytest.mark.integration

SANDBOX: Final = NovomindSandboxConfig()
ROOT: Final = "/iMail/api/rest"
STORAGE_TEMPLATE: Final = f"{ROOT}/tickets/{{ticketId}}/storage"
MEMO_TEMPLATE: Final = f"{ROOT}/processes/{{processId}}/memos"


def sandbox_settings(url: str, **overrides: Any) -> NovomindSettings:
    values: dict[str, Any] = {
        "base_url": url,
        "client_id": SANDBOX.client_id,
        "client_secret": Secret(SANDBOX.client_secret),
        "username": SANDBOX.username,
        "password": Secret(SANDBOX.password),
        "timeout_seconds": 2.0,
    }
    values.update(overrides)
    return NovomindSettings(**values)


@asynccontextmanager
async def open_client(sandbox: NovomindSandbox, **overrides: Any) -> AsyncIterator[NovomindClient]:
    client = NovomindClient(sandbox_settings(sandbox.url, **overrides))
    try:
        yield client
    finally:
        await client.aclose()


def storage(ticket_id: int = 100042, key: str = "evt-1:17", values: dict[str, str] | None = None) -> NovomindWrite:
    return NovomindWrite(
        method="PUT",
        path=f"{ROOT}/tickets/{ticket_id}/storage",
        body=values or {"ct.orderState": "Shipped"},
        idempotency_key=key,
        template=STORAGE_TEMPLATE,
    )


def memo(process_id: int = 100042, key: str = "evt-1:17:memo", text: str = "Order DE-1001 shipped") -> NovomindWrite:
    return NovomindWrite(
        method="POST",
        path=f"{ROOT}/processes/{process_id}/memos",
        body={"text": text},
        idempotency_key=key,
        template=MEMO_TEMPLATE,
    )


def obj(value: Any) -> dict[str, Any]:
    assert isinstance(value, dict)
    return value


async def recorded_paths(control: httpx.AsyncClient) -> list[tuple[str, str]]:
    return [(entry["method"], entry["path"]) for entry in (await control.get("/__sim/requests")).json()]


async def inject(control: httpx.AsyncClient, **fault: Any) -> None:
    response = await control.post("/__sim/faults", json=fault)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("client_auth", ["basic", "form"])
async def test_password_grant_with_either_client_auth(
    nm_sandbox: NovomindSandbox, control: httpx.AsyncClient, client_auth: str
) -> None:
    async with open_client(nm_sandbox, client_auth=client_auth) as client:
        await client.ensure_token()
        reply = await client.send(storage())
    assert reply.status == 200

    token_request = (await control.get("/__sim/requests")).json()[0]
    headers = {name.lower(): value for name, value in token_request["headers"]}
    assert ("authorization" in headers) is (client_auth == "basic")
    assert (f"client_id={SANDBOX.client_id}" in token_request["body"]) is (client_auth == "form")


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        pytest.param({"client_secret": Secret("wrong-secret")}, 401, "invalid_client", id="bad-client"),
        pytest.param({"password": Secret("wrong-password")}, 400, "invalid_grant", id="bad-user"),
    ],
)
async def test_bad_credentials_are_rejected(
    nm_sandbox: NovomindSandbox, overrides: dict[str, Any], status: int, code: str
) -> None:
    async with open_client(nm_sandbox, **overrides) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.send(storage())
    assert (caught.value.upstream, caught.value.status, caught.value.error_code) == ("novomind auth", status, code)
    assert "wrong" not in str(caught.value)


async def test_storage_put_and_memo_post(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    async with open_client(nm_sandbox) as client:
        stored = await client.send(storage(values={"ct.orderState": "Shipped", "ct.tracking": "DHL 00340434"}))
        created = await client.send(memo())
        ticket = await client.get_ticket("100042")

    assert stored.status == 200
    assert obj(stored.body)["storage"] == {"ct.orderState": "Shipped", "ct.tracking": "DHL 00340434"}
    assert created.status == 201
    assert obj(created.body)["id"] == 500001
    assert obj(created.body)["text"] == "Order DE-1001 shipped"
    assert ticket is not None
    assert ticket["storage"]["ct.orderState"] == "Shipped"
    # One token for all three calls; every write carried its idempotency key and the vendor Accept.
    requests = (await control.get("/__sim/requests")).json()
    assert [entry["path"] for entry in requests].count(f"{ROOT}/token") == 1
    headers = [{name.lower(): value for name, value in entry["headers"]} for entry in requests[1:]]
    assert [h.get("idempotency-key") for h in headers] == ["evt-1:17", "evt-1:17:memo", None]
    assert {h["accept"] for h in headers} == {"application/vnd.novomind.iagent-v2+json"}
    assert all(h["x-correlation-id"] for h in headers)


async def test_a_resent_memo_is_applied_once(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    async with open_client(nm_sandbox) as client:
        first = await client.send(memo(key="evt-7:3"))
        again = await client.send(memo(key="evt-7:3"))

    assert (first.status, again.status) == (201, 200)
    assert obj(first.body)["id"] == obj(again.body)["id"]
    assert len((await control.get("/__sim/memos")).json()) == 1
    assert (await control.get("/__sim/effects")).json() == {"evt-7:3": {"requests": 2, "applied": 1}}


async def test_unknown_ticket_and_process(nm_sandbox: NovomindSandbox) -> None:
    async with open_client(nm_sandbox) as client:
        assert await client.get_ticket("999999") is None
        with pytest.raises(NotFoundError):
            await client.send(storage(ticket_id=999999))
        with pytest.raises(NotFoundError):
            await client.send(memo(process_id=999999))


async def test_a_bad_write_is_rejected(nm_sandbox: NovomindSandbox) -> None:
    bad = NovomindWrite("PUT", f"{ROOT}/tickets/100042/storage", {"k": 1}, "k-1", STORAGE_TEMPLATE)
    async with open_client(nm_sandbox) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.send(bad)
    assert (caught.value.upstream, caught.value.status) == ("novomind", 400)


async def test_expired_token_is_recovered_by_one_refetch(
    nm_sandbox: NovomindSandbox, control: httpx.AsyncClient
) -> None:
    async with open_client(nm_sandbox) as client:
        await client.ensure_token()
        assert (await control.post("/__sim/expire-tokens")).status_code == 204
        reply = await client.send(memo(key="evt-8:1"))

    assert reply.status == 201
    put = ("POST", f"{ROOT}/processes/100042/memos")
    token = ("POST", f"{ROOT}/token")
    assert await recorded_paths(control) == [token, put, token, put]
    assert (await control.get("/__sim/effects")).json() == {"evt-8:1": {"requests": 2, "applied": 1}}


async def test_a_token_rejected_twice_is_final(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    await inject(control, pathContains="/memos", status=401, times=2)
    async with open_client(nm_sandbox) as client:
        with pytest.raises(UpstreamRejectedError) as caught:
            await client.send(memo())
    assert caught.value.status == 401
    assert len((await control.get("/__sim/memos")).json()) == 0


async def test_503_with_retry_after_is_unavailable(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    await inject(control, pathContains="/storage", status=503, retryAfter="2")
    async with open_client(nm_sandbox) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.send(storage())
        # One attempt per send: the queue retries, and the next send goes through.
        assert (await client.send(storage())).status == 200
    assert (caught.value.reason, caught.value.retry_after_seconds) == ("HTTP 503", 2.0)


async def test_token_endpoint_outage_is_unavailable(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    await inject(control, pathContains="/token", status=502)
    async with open_client(nm_sandbox) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.send(storage())
    assert caught.value.reason == "token endpoint HTTP 502"


async def test_dropped_connection_is_unavailable(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    await inject(control, pathContains="/memos", dropConnection=True)
    async with open_client(nm_sandbox) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.send(memo(key="evt-9:1"))
        # The queue re-sends with the same key: the memo is created exactly once.
        assert (await client.send(memo(key="evt-9:1"))).status == 201
    assert caught.value.reason == "the connection broke or the answer was not valid HTTP"
    assert len((await control.get("/__sim/memos")).json()) == 1


async def test_a_slow_answer_is_unavailable(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    # A read: the sandbox finishes the abandoned request after the test, and must change nothing then.
    # 15 times the client's timeout: only a machine stalled for seconds could see the answer first.
    await inject(control, method="GET", pathContains="/tickets/100051", delayMs=3000)
    async with open_client(nm_sandbox, timeout_seconds=0.2) as client:
        with pytest.raises(UpstreamUnavailableError) as caught:
            await client.get_ticket("100051")
    assert caught.value.reason == "no answer in time"


async def test_junk_success_body_is_tolerated(nm_sandbox: NovomindSandbox, control: httpx.AsyncClient) -> None:
    await inject(control, pathContains="/storage", body="junk")
    async with open_client(nm_sandbox) as client:
        reply = await client.send(storage())
    assert (reply.status, reply.body) == (200, None)


async def test_writes_skip_the_httpx_request_only_where_nothing_needs_escaping(
    nm_sandbox: NovomindSandbox, control: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's own transport takes plain paths straight; a path httpx must escape goes through
    httpx. Both reach the sandbox as the same request would."""
    direct: list[bytes] = []
    original = KeepAliveTransport.send_direct

    async def counting(self: KeepAliveTransport, method: str, endpoint: Endpoint, target: bytes, *rest: Any) -> Any:
        direct.append(target)
        return await original(self, method, endpoint, target, *rest)

    monkeypatch.setattr(KeepAliveTransport, "send_direct", counting)
    odd = NovomindWrite(
        method="PUT", path=f"{ROOT}/tickets/100042 x/storage", body={"a": "b"}, idempotency_key="k-odd", template="t"
    )
    async with open_client(nm_sandbox) as client:
        assert (await client.send(storage())).status == 200
        with pytest.raises(NotFoundError):  # no such ticket: but it arrived, escaped by httpx
            await client.send(odd)
    assert direct == [f"{ROOT}/tickets/100042/storage".encode()]
    paths = [path for _, path in await recorded_paths(control)]
    assert paths[-2:] == [f"{ROOT}/tickets/100042/storage", f"{ROOT}/tickets/100042 x/storage"]
