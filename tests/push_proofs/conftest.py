"""Fixtures of the push proofs: both sandboxes on loopback, a store per backend, ``ctnm push`` processes.

The commercetools sandbox is the suite's own (``sandbox`` in tests/conftest.py, reset per test); the
novomind sandbox is served here the same way (uvicorn in a thread on 127.0.0.1) and reset per test
through its control route. Worker subprocesses reach both over loopback HTTP. Every proof runs once
per backend: ``sqlite`` (a file in the test's directory) and ``redis`` (a throwaway redis-server).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from app.sandbox.novomind import NovomindSandboxConfig, create_novomind_sandbox
from app.storage.ports import Storage
from tests.conftest import SandboxHandle
from tests.push_proofs.harness import Backend, NovomindSim, PushProcess, gateway_env, proof_mappings
from tests.support import RedisProcess, ThreadedServer


@pytest.fixture(scope="session")
def _novomind_url() -> Iterator[str]:
    # No default tickets: every proof seeds the tickets its orders link to.
    with ThreadedServer(create_novomind_sandbox(NovomindSandboxConfig(tickets=()))) as server:
        yield server.url


@pytest.fixture
async def novomind(_novomind_url: str) -> AsyncIterator[NovomindSim]:
    sim = NovomindSim(_novomind_url)
    await sim.reset()
    try:
        yield sim
    finally:
        await sim.reset()
        await sim.aclose()


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        yield Backend("sqlite", data_dir)
        return
    server = RedisProcess()
    server.start()
    try:
        yield Backend("redis", data_dir, server.url)
    finally:
        server.stop()


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[Storage]:
    """The test's own handle on the store the workers use."""
    storage = await backend.open()
    try:
        yield storage
    finally:
        await storage.aclose()


@pytest.fixture
def env(sandbox: SandboxHandle, novomind: NovomindSim, backend: Backend, tmp_path: Path) -> dict[str, str]:
    """The environment of a ``ctnm`` process wired to this test's sandboxes and store."""
    return gateway_env(
        ct_url=sandbox.url,
        novomind_url=novomind.url,
        backend=backend,
        mappings_dir=proof_mappings(tmp_path / "mappings"),
    )


@pytest.fixture
def push_process(env: dict[str, str], tmp_path: Path) -> Iterator[PushProcess]:
    process = PushProcess(env, tmp_path / "push.log", workers=2)
    try:
        yield process
    finally:
        process.close()
