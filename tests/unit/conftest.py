"""Fixtures for the unit suite: a fake clock and a collector on the ``app`` logger."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.unit.fakes import Collector, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def app_logs() -> Iterator[Collector]:
    """Every record logged under ``app`` during the test, whatever ``configure_logging`` did before."""
    logger = logging.getLogger("app")
    collector = Collector()
    previous = logger.level
    logger.addHandler(collector)
    logger.setLevel(logging.DEBUG)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)
        logger.setLevel(previous)
