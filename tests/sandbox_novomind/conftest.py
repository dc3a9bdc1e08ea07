"""Fixtures for the novomind sandbox's own tests: a fresh app per test (building one is cheap)."""

import base64
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.sandbox.novomind import NovomindSandboxConfig, NovomindSandboxState, create_novomind_sandbox

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]

TOKEN_URL: Final = "/iMail/api/rest/token"
ROOT: Final = "/iMail/api/rest"
CONFIG: Final = NovomindSandboxConfig()
PASSWORD_FORM: Final = {"grant_type": "password", "username": CONFIG.username, "password": CONFIG.password}


def basic(client_id: str = CONFIG.client_id, secret: str = CONFIG.client_secret) -> Headers:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


async def fetch_token(client: Client) -> str:
    response = await client.post(TOKEN_URL, data=PASSWORD_FORM, headers=basic())
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def known_keys(body: dict[str, Any], known: set[str]) -> set[str]:
    """The keys of `body` that are not in `known` (the sandbox's random extra field)."""
    return set(body) - known


@pytest.fixture(scope="session")
def nm_app() -> Litestar:
    # Building a Litestar app costs more than resetting one; tests that need other settings build their own.
    return create_novomind_sandbox()


@pytest.fixture
def nm_state(nm_app: Litestar) -> Iterator[NovomindSandboxState]:
    state: NovomindSandboxState = nm_app.state.novomind
    clock = state.tokens.clock
    state.reset()
    yield state
    state.tokens.clock = clock
    state.reset()


@pytest.fixture
async def nm_client(nm_app: Litestar, nm_state: NovomindSandboxState) -> AsyncIterator[Client]:
    async with AsyncTestClient(nm_app) as client:
        yield client


@pytest.fixture
async def auth(nm_client: Client) -> Headers:
    return {"Authorization": f"Bearer {await fetch_token(nm_client)}"}
