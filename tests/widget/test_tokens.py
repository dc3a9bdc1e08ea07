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
    caller = tokens.verify(tokens.issue("agent-7", WidgetRole(scopes=["orders:read"], stores=["de"])).token)
    assert caller.subject == "agent-7"
    assert caller.scopes == frozenset({"orders:read"})
    assert caller.stores == ("de",)
    assert tokens.verify(tokens.issue("agent-7", AGENT).token).stores is None


def test_expiry_and_renewal() -> None:
    clock = Clock()
    tokens = WidgetTokens(SECRET, now=clock)
    first = tokens.issue("agent-7", AGENT)
    clock.now += TOKEN_TTL_SECONDS - 1
    renewed = tokens.renew(first.token)
    assert tokens.verify(renewed.token).scopes == frozenset(AGENT.scopes)
    clock.now += 2
    with pytest.raises(AuthenticationError):
        tokens.renew(first.token)
    assert tokens.verify(renewed.token).subject == "agent-7"
    clock.now += TOKEN_TTL_SECONDS
    with pytest.raises(AuthenticationError):
        tokens.verify(renewed.token)


def test_another_secret_or_a_caller_token_is_refused() -> None:
    tokens = WidgetTokens(SECRET, now=time.time)
    with pytest.raises(AuthenticationError):
        WidgetTokens("z" * 40).verify(tokens.issue("a", AGENT).token)
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
