"""The widget page's API token: the role's scopes, the agent as subject, its own audience, renewal."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.access import TokenVerifier, mint_token
from app.asgi import create_app
from app.errors import AuthenticationError
from app.mapping.schema import WidgetRole
from app.settings import Secret
from app.widget.context import signed_query
from app.widget.tokens import TOKEN_TTL_SECONDS, WidgetTokens
from tests.support import auth, settings_for, token

SECRET = "k" * 40
AGENT = WidgetRole(scopes=["orders:read", "customers:read", "links:write"])


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_carries_the_agent_and_the_roles_scopes_and_stores() -> None:
    tokens = WidgetTokens(SECRET, now=Clock())
    caller = tokens.verify(tokens.issue("agent-7", WidgetRole(scopes=["orders:read"], stores=["de"]), ["4711"]).token)
    assert caller.subject == "agent-7"
    assert caller.scopes == frozenset({"orders:read"})
    assert caller.stores == ("de",)
    assert caller.tickets == ("4711",)
    assert tokens.verify(tokens.issue("agent-7", AGENT, ["4711"]).token).stores is None


def test_expiry_and_renewal() -> None:
    clock = Clock()
    tokens = WidgetTokens(SECRET, now=clock)
    first = tokens.issue("agent-7", AGENT, ["4711", "P-9"])
    clock.now += TOKEN_TTL_SECONDS - 1
    renewed = tokens.renew(first.token)
    assert tokens.verify(renewed.token).scopes == frozenset(AGENT.scopes)
    clock.now += 2
    with pytest.raises(AuthenticationError):
        tokens.renew(first.token)
    assert tokens.verify(renewed.token).subject == "agent-7"
    assert tokens.verify(renewed.token).tickets == ("4711", "P-9")  # renewal keeps the binding
    clock.now += TOKEN_TTL_SECONDS
    with pytest.raises(AuthenticationError):
        tokens.verify(renewed.token)


def test_another_secret_or_a_caller_token_is_refused() -> None:
    tokens = WidgetTokens(SECRET, now=time.time)
    with pytest.raises(AuthenticationError):
        WidgetTokens("z" * 40).verify(tokens.issue("a", AGENT, []).token)
    with pytest.raises(AuthenticationError):
        tokens.verify(token(("orders:read",)))


@pytest.fixture
async def client() -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for("http://ct.test")
    gateway = msgspec.structs.replace(settings.gateway, widget_secret=Secret(SECRET))
    app = create_app(
        msgspec.structs.replace(settings, gateway=gateway),
        commercetools_transport=httpx.MockTransport(lambda r: httpx.Response(503)),
    )
    async with AsyncTestClient(app) as test_client:
        yield test_client


async def _page_token(client: AsyncTestClient[Litestar], role: str) -> str:
    link = signed_query(
        {"agentId": "agent-7", "role": role, "exp": str(int(time.time()) + 600), "ticketId": "4711"}, SECRET
    )
    response = await client.get(f"/widget?{link}")
    assert response.status_code == 200
    match = re.search(r'data-token="([^"]+)"', response.text)
    assert match is not None
    return match[1]


async def test_the_page_token_has_the_roles_scopes_on_the_api(client: AsyncTestClient[Litestar]) -> None:
    agent = await _page_token(client, "agent")
    supervisor = await _page_token(client, "supervisor")
    assert (await client.get("/v1/audit", headers={"Authorization": f"Bearer {agent}"})).status_code == 403
    assert (await client.get("/v1/audit", headers={"Authorization": f"Bearer {supervisor}"})).status_code == 200
    assert (await client.get("/v1/audit", headers={"Authorization": "Bearer x.y.z"})).status_code == 401


async def test_renewal_endpoint(client: AsyncTestClient[Litestar]) -> None:
    agent = await _page_token(client, "agent")
    response = await client.post("/widget/token", headers={"Authorization": f"Bearer {agent}"})
    assert response.status_code == 200
    body = response.json()
    assert body["expiresIn"] == TOKEN_TTL_SECONDS
    assert (await client.get("/v1/audit", headers={"Authorization": f"Bearer {body['token']}"})).status_code == 403
    # A caller token is not a widget token: it cannot be turned into one.
    refused = await client.post("/widget/token", headers=auth(("audit:read",)))
    assert refused.status_code == 401
    assert (await client.post("/widget/token")).status_code == 401


async def test_the_page_token_links_only_the_ticket_it_was_opened_for(client: AsyncTestClient[Litestar]) -> None:
    # The upstream answers 503 here, so a permitted PUT gets as far as reading the order (503);
    # a PUT for another ticket is refused before anything is read.
    agent = await _page_token(client, "agent")
    headers = {"Authorization": f"Bearer {agent}"}
    own = await client.put("/v1/links/4711", json={"orderNumber": "DE-100001"}, headers=headers)
    assert own.status_code == 503
    other = await client.put("/v1/links/4712", json={"orderNumber": "DE-100001"}, headers=headers)
    assert other.status_code == 403
    assert "ticket it was opened for" in other.json()["detail"]
    assert (await client.delete("/v1/links/4712", headers=headers)).status_code == 403
    # A caller token carries no binding: the same request is not refused for that reason.
    caller = await client.put("/v1/links/4712", json={"orderNumber": "DE-100001"}, headers=auth(("links:write",)))
    assert caller.status_code == 503


def test_a_caller_token_is_bound_to_no_ticket() -> None:
    minted = mint_token(
        "s" * 40, issuer="i", audience="a", subject="x", scopes=["links:write"], stores=["*"], ttl_seconds=60
    )
    caller = TokenVerifier("s" * 40, issuer="i", audience="a").verify(minted)
    assert caller.tickets is None
    assert caller.may_change_links_of("anything")
