"""Test doubles for the commercetools client: a scripted upstream, a fake clock, a log collector.

Nothing here sleeps or opens a socket. ``FakeClock.sleep`` records each delay and moves the clock
forward by it; ``ScriptedUpstream`` answers the token endpoint and the API from two scripts and
records every request it saw, so tests can count token fetches and API attempts exactly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs

import httpx

from app.settings import CommercetoolsSettings, Secret

# Official commercetools example payloads, copied into the repository (tests/fixtures/commercetools/README.md).
FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures" / "commercetools"

CLIENT_ID: Final = "cid-4f1e"
CLIENT_SECRET: Final = "client-secret-7Hq2ZxYw"
SCOPES: Final = "view_orders:demo view_customers:demo"
TOKEN_PATH: Final = "/oauth/token"
MAX_REQUESTS: Final = 200


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def ct_settings(**overrides: Any) -> CommercetoolsSettings:
    values: dict[str, Any] = {
        "project_key": "demo",
        "client_id": CLIENT_ID,
        "client_secret": Secret(CLIENT_SECRET),
        "auth_url": "http://auth.test",
        "api_url": "http://api.test",
        "scopes": SCOPES,
        "timeout_seconds": 3.0,
        "deadline_seconds": 8.0,
        "max_attempts": 4,
        "backoff_base_seconds": 0.1,
        "backoff_cap_seconds": 2.0,
        "token_leeway_seconds": 300,
    }
    values.update(overrides)
    return CommercetoolsSettings(**values)


class FakeClock:
    """A monotonic clock that only moves when the code under test sleeps (or a test says so)."""

    def __init__(self, start: float = 10_000.0) -> None:
        self.start = start
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    @property
    def elapsed(self) -> float:
        return self.now - self.start


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int = 200
    body: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = ()

    @classmethod
    def json(cls, status: int, payload: object, headers: Sequence[tuple[str, str]] = ()) -> Reply:
        return cls(
            status,
            json.dumps(payload).encode(),
            [(b"Content-Type", b"application/json"), *((k.encode(), v.encode()) for k, v in headers)],
        )

    def response(self) -> httpx.Response:
        return httpx.Response(self.status, content=self.body, headers=list(self.headers))


# A step is either a reply or a transport failure, raised as the given httpx exception type.
Step = Reply | type[httpx.TransportError]


def token_reply(access_token: str = "access-tok-Zr9", expires_in: int = 172_800) -> Reply:
    return Reply.json(200, {"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in})


def order_reply() -> Reply:
    return Reply(200, fixture_bytes("order.example.json"), [(b"Content-Type", b"application/json")])


@dataclass
class ScriptedUpstream:
    """``httpx.MockTransport`` handler for both hosts.

    Each script is consumed front to back; its last step repeats forever. ``latency`` moves the
    fake clock forward on every request, as a slow network would. ``token`` may also be ``None``
    to issue a fresh numbered token (``tok-1``, ``tok-2``...) on every token request. ``latency``
    applies to API requests, ``token_latency`` to token requests.
    """

    api: Sequence[Step] = field(default_factory=lambda: [order_reply()])
    token: Sequence[Step] | None = field(default_factory=lambda: [token_reply()])
    clock: FakeClock | None = None
    latency: float = 0.0
    token_latency: float = 0.0
    token_expires_in: int = 172_800
    requests: list[httpx.Request] = field(default_factory=list)
    request_times: list[float] = field(default_factory=list)
    _api_index: int = 0
    _token_index: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        # A runaway retry loop must fail the test, not hang it (the fake clock never runs out).
        assert len(self.requests) <= MAX_REQUESTS, f"more than {MAX_REQUESTS} requests: a retry loop without end"
        is_token = request.url.path == TOKEN_PATH
        if self.clock is not None:
            self.request_times.append(self.clock.now)
            self.clock.advance(self.token_latency if is_token else self.latency)
        if is_token:
            if self.token is None:
                issued = len(self.token_requests)
                return token_reply(f"tok-{issued}", self.token_expires_in).response()
            step, self._token_index = self._next(self.token, self._token_index)
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
            # Yield to the event loop like real I/O would, so concurrent calls really interleave.
            await asyncio.sleep(0)
            return self(request)

        return httpx.MockTransport(handler)

    @property
    def token_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == TOKEN_PATH]

    @property
    def api_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != TOKEN_PATH]


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode(), keep_blank_values=True, strict_parsing=True)


class Collector(logging.Handler):
    """Keeps every record; attached straight to the ``app`` logger so propagation settings don't matter."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        """Everything a formatter could print from each record: message, args and ``fields``."""
        return [
            " ".join([record.getMessage(), repr(record.args), repr(getattr(record, "fields", None))])
            for record in self.records
        ]

    def events(self, name: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for record in self.records:
            fields = getattr(record, "fields", None)
            if record.getMessage() == name and isinstance(fields, dict):
                found.append(fields)
        return found
