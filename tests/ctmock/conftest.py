"""Fixtures for the commercetools-mock fidelity suite.

``ct_mock`` starts ``@labdigital/commercetools-mock`` (tests/ctmock/server.mjs) once per session
on a free loopback port, seeds it through its HTTP API (see seed.py) and stops it at the end.
The suite never skips: when the Node packages are missing it fails and says how to install them
(``npm ci --prefix tests/ctmock``), because CI must run it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.ctmock.harness import MockApi, MockServer, MockSetupError
from tests.ctmock.seed import Seeded, seed

PROJECT_KEY = "ctnm-ctmock"
CLIENT_ID = "ctmock-gateway-client"
CLIENT_SECRET = "ctmock-gateway-secret"


@dataclass(frozen=True)
class CtMock:
    """The running mock: where it listens, how to authenticate, and what was seeded."""

    url: str
    project_key: str
    client_id: str
    client_secret: str
    seeded: Seeded

    def api(self) -> MockApi:
        """A fresh raw API client (a new token each time); close it after use."""
        return MockApi(self.url, self.project_key, self.client_id, self.client_secret)


@pytest.fixture(scope="session")
def ct_mock() -> Iterator[CtMock]:
    server = MockServer(ready_timeout=30)
    try:
        problem: str | None = None
        try:
            server.start()
            with MockApi(server.url, PROJECT_KEY, CLIENT_ID, CLIENT_SECRET) as api:
                seeded = seed(api)
        except MockSetupError as exc:
            problem = str(exc)
        if problem is not None:  # outside the except block: one clear message, no chained traceback
            pytest.fail(problem, pytrace=False)
        yield CtMock(server.url, PROJECT_KEY, CLIENT_ID, CLIENT_SECRET, seeded)
    finally:
        server.stop()
