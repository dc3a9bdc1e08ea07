"""Fixtures for the novomind client: a scripted upstream on ``httpx.MockTransport``, and the sandbox over loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import pytest

from app.sandbox.novomind import NovomindSandboxState, create_novomind_sandbox
from app.settings import NovomindSettings, Secret
from tests.support import ThreadedServer
from tests.unit.fakes import MAX_REQUESTS

CLIENT_ID: Final = "nm-client-41"
CLIENT_SECRET: Final = "nm-client-secret-Q8zK"
USERNAME: Final = "svc-gateway"
PASSWORD: Final = "nm-password-Xv7Lp"
BASE_URL: Final = "http://iagent.test"
TOKEN_PATH: Final = "/iMail/api/rest/token"


def nm_settings(**overrides: Any) -> NovomindSettings:
    values: dict[str, Any] = {
        "base_url": BASE_URL,
        "client_id": CLIENT_ID,
        "client_secret": Secret(CLIENT_SECRET),
        "username": USERNAME,
        "password": Secret(PASSWORD),
    }
    values.update(overrides)
    return NovomindSettings(**values)


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[str, str]] = ()

    @classmethod
    def json(cls, status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> Reply:
        return cls(status, json.dumps(payload).encode(), [("Content-Type", "application/json"), *headers])

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, content=self.body, headers=list(self.headers))


# A step is a reply or a transport failure, raised as the given httpx exception type.
Step = Reply | type[httpx.RequestError]
VENDOR_JSON: Final = ("Content-Type", "application/vnd.novomind.iagent-v2+json;charset=UTF-8")


def token_reply(access_token: str = "nm-access-tok-1", expires_in: int | None = 3600) -> Reply:
    body: dict[str, Any] = {"access_token": access_token, "token_type": "bearer", "xunknown": 1}
    if expires_in is not None:
        body["expires_in"] = expires_in
    return Reply.json(200, body)


def ok_reply(payload: object | None = None, status: int = 200) -> Reply:
    body = json.dumps({"id": 500001, "xextra": None} if payload is None else payload).encode()
    return Reply(status, body, [VENDOR_JSON])


@dataclass
class ScriptedNovomind:
    """``httpx.MockTransport`` handler: the token endpoint and the API each follow a script.

    A script's last step repeats forever. ``token=None`` issues a fresh numbered token (``tok-1``,
    ``tok-2`` ...) with ``token_expires_in`` on every token request. ``api`` may also be a function of
    the request, for answers that depend on the bearer token.
    """

    api: Sequence[Step] | Any = field(default_factory=lambda: [ok_reply()])
    token: Sequence[Step] | None = None
    token_expires_in: int | None = 3600
    token_path: str = TOKEN_PATH
    requests: list[httpx.Request] = field(default_factory=list)
    _api_index: int = 0
    _token_index: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        assert len(self.requests) <= MAX_REQUESTS, "a request loop without end"
        if request.url.path == self.token_path:
            if self.token is None:
                return token_reply(f"tok-{len(self.token_requests)}", self.token_expires_in).response()
            step, self._token_index = self._next(self.token, self._token_index)
        elif callable(self.api):
            step = self.api(request)
        else:
            step, self._api_index = self._next(self.api, self._api_index)
        if isinstance(step, Reply):
            return step.response()
        raise step("simulated transport failure", request=request)

    @staticmethod
    def _next(script: Sequence[Step], index: int) -> tuple[Step, int]:
        assert script, "empty script"
        return script[min(index, len(script) - 1)], index + 1

    def transport(self) -> httpx.MockTransport:
        async def handler(request: httpx.Request) -> httpx.Response:
            # Yield like real I/O, so concurrent callers really interleave.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return self(request)

        return httpx.MockTransport(handler)

    @property
    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == self.token_path]

    @property
    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != self.token_path]


def bearer(request: httpx.Request) -> str:
    return request.headers["Authorization"].removeprefix("Bearer ")


# -- the sandbox over loopback ---------------------------------------------------------------------


class NovomindSandbox:
    def __init__(self, url: str, state: NovomindSandboxState) -> None:
        self.url = url
        self.state = state


@pytest.fixture(scope="session")
def _nm_sandbox_session() -> Iterator[NovomindSandbox]:
    app = create_novomind_sandbox()
    with ThreadedServer(app) as server:
        yield NovomindSandbox(server.url, app.state.novomind)


@pytest.fixture
def nm_sandbox(_nm_sandbox_session: NovomindSandbox) -> Iterator[NovomindSandbox]:
    """The novomind sandbox on a loopback port (uvicorn); data, faults and records reset per test."""
    _nm_sandbox_session.state.reset()
    yield _nm_sandbox_session
    _nm_sandbox_session.state.reset()


@pytest.fixture
async def control(nm_sandbox: NovomindSandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for the sandbox's `/__sim/…` control routes."""
    async with httpx.AsyncClient(base_url=nm_sandbox.url) as client:
        yield client
