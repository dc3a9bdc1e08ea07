"""Security suites: shared in-process fixtures, and the figures they count (cases, cells, pairs)
printed in pytest's terminal summary."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _pytest.terminal import TerminalReporter
from litestar import Litestar
from litestar.testing import TestClient

from app.sandbox.commercetools import SandboxState
from tests.security.harness import TALLY, new_gateway, new_sandbox, sandbox_state


@pytest.fixture(scope="module")
def ct_sandbox() -> Litestar:
    """The built-in commercetools sandbox, reached in-process (no socket)."""
    return new_sandbox()


@pytest.fixture
def ct(ct_sandbox: Litestar) -> Iterator[SandboxState]:
    """The sandbox's state, with recorded requests cleared before and after the test."""
    state = sandbox_state(ct_sandbox)
    state.reset()
    yield state
    state.reset()


@pytest.fixture(scope="module")
def gateway(ct_sandbox: Litestar, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient[Litestar]]:
    """One gateway per module (throwaway embedded store) in front of the in-process sandbox."""
    app = new_gateway(ct_sandbox, str(tmp_path_factory.mktemp("gateway")))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if not TALLY:
        return
    terminalreporter.section("security figures")
    for key, value in sorted(TALLY.items()):
        terminalreporter.write_line(f"{key}: {value}")
