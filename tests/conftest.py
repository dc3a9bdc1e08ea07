"""Fixtures shared by every suite: fixture payloads, the sandbox over loopback, Redis, a fake clock, app logs."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.support import FIXTURES, ThreadedServer
from tests.unit.fakes import Collector, FakeClock

# Hypothesis times each example (200 ms) and the data generation by default: budgets a loaded machine
# misses, failing a property that holds. Properties are never timed here; tests bound their own waits.
hypothesis_settings.register_profile("ctnm", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("ctnm")


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


@pytest.fixture(scope="session")
def ct_fixtures() -> Path:
    assert FIXTURES.is_dir(), f"commercetools fixtures missing at {FIXTURES} (tests/fixtures/commercetools)"
    return FIXTURES


class SandboxHandle:
    def __init__(self, url: str, state: Any) -> None:
        self.url = url
        self.state = state


@pytest.fixture(scope="session")
def _sandbox_session() -> Iterator[SandboxHandle]:
    from app.sandbox.commercetools import SandboxConfig, create_commercetools_sandbox

    app = create_commercetools_sandbox(SandboxConfig())
    with ThreadedServer(app) as server:
        yield SandboxHandle(server.url, app.state.sandbox)


@pytest.fixture
def sandbox(_sandbox_session: SandboxHandle) -> Iterator[SandboxHandle]:
    """The commercetools sandbox on a loopback port; faults and recorded requests reset per test."""
    _sandbox_session.state.reset()
    yield _sandbox_session
    _sandbox_session.state.reset()


def _redis_answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real Redis: the one on REDIS_URL (default local), else a throwaway redis-server on loopback."""
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    if _redis_answers(url):
        yield url
        return
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("no Redis answers on REDIS_URL and no redis-server is installed (see .ci/run)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [executable, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _redis_answers(url):
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("throwaway redis-server did not start within 10 s")
            time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
