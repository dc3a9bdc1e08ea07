"""Fixtures of the widget's browser tests: one rig (sandbox, gateway, desk pages) and one Chromium per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.widget.browser.harness import ARGS, CHROMIUM, Rig, rig

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "widget"


@pytest.fixture(scope="module")
def widget_rig() -> Iterator[Rig]:
    with rig() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_sandbox(widget_rig: Rig) -> Iterator[None]:
    """Faults a test armed in the sandbox end with it."""
    yield
    widget_rig.reset()


# Per module, not per session: sync Playwright runs an event loop in this thread while it is open,
# which the async tests of other modules (pytest-asyncio) cannot share.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ARTIFACTS.is_dir():
        terminalreporter.write_line(f"widget screenshots and render times: {ARTIFACTS}")
