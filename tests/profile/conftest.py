"""The profile sync suites; the state machine's figures (examples, steps, deliveries) go to the
terminal summary, where docs/profile-sync.md quotes them from."""

from __future__ import annotations

import pytest
from _pytest.terminal import TerminalReporter

from tests.profile.support import FIGURES


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if not FIGURES:
        return
    terminalreporter.section("profile sync figures")
    for key, value in FIGURES.items():
        terminalreporter.write_line(f"{key}: {value}")
