"""Fixtures for the storage contract suite: every test runs once per backend (``sqlite``, ``redis``).

``storage`` is a fresh, empty store of the parametrized backend. ``storage_factory`` opens more
handles: another handle on the same store (what a second process or replica sees), or a throwaway
store for one hypothesis example. Every handle is closed with ``aclose()`` and every Redis namespace
is wiped (SCAN MATCH on the namespace) at teardown, whatever the test did.

The backend modules are imported inside the fixture, so a backend that is missing or broken fails
only its own parameter, with a message that names the module.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from app.storage.ports import Storage

MAIN = "main"
"""Location of the store behind the ``storage`` fixture."""


@dataclass(frozen=True)
class BackendTarget:
    name: str
    redis_url: str | None = None


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> BackendTarget:
    name: str = request.param
    if name == "redis":
        return BackendTarget(name, redis_url=request.getfixturevalue("redis_url"))
    return BackendTarget(name)


class StorageFactory:
    """Opens handles on stores of one backend and cleans every one of them up at teardown.

    A *location* names one store: the same location opened twice gives two handles on the same data
    (the SQLite file / the Redis namespace), like two processes sharing it.
    """

    def __init__(self, target: BackendTarget, tmp_path: Path) -> None:
        self.backend = target.name
        self._redis_url = target.redis_url
        self._tmp_path = tmp_path
        self._namespaces: dict[str, str] = {}
        self._handles: list[Storage] = []
        self._redis: aioredis.Redis | None = None

    def path(self, location: str = MAIN) -> Path:
        name = "gateway.sqlite3" if location == MAIN else f"gateway-{location}.sqlite3"
        return self._tmp_path / name

    def namespace(self, location: str = MAIN) -> str:
        return self._namespaces.setdefault(location, f"ctnm-test-{uuid.uuid4().hex}")

    async def open(self, location: str = MAIN, **options: Any) -> Storage:
        """A new handle on the store at ``location``; ``options`` go to the backend's ``open``."""
        storage: Storage
        if self.backend == "sqlite":
            try:
                from app.storage.sqlite_backend import SqliteStorage
            except ImportError as exc:
                pytest.fail(f"sqlite backend: cannot import app.storage.sqlite_backend.SqliteStorage: {exc!r}")
            storage = await SqliteStorage.open(self.path(location), **options)
        else:
            try:
                from app.storage.redis_backend import RedisStorage
            except ImportError as exc:
                pytest.fail(f"redis backend: cannot import app.storage.redis_backend.RedisStorage: {exc!r}")
            assert self._redis_url is not None
            # Functional tests, not outage tests: a generous deadline keeps a loaded CI machine from
            # turning a slow answer into a failure (the outage tests use short deadlines on purpose).
            options.setdefault("operation_timeout", 5.0)
            storage = await RedisStorage.open(self._redis_url, namespace=self.namespace(location), **options)
        self._handles.append(storage)
        return storage

    async def close(self, storage: Storage) -> None:
        self._handles.remove(storage)
        await storage.aclose()

    @asynccontextmanager
    async def fresh(self, **options: Any) -> AsyncIterator[Storage]:
        """A throwaway empty store (one per hypothesis example), closed and wiped on exit."""
        location = uuid.uuid4().hex
        storage = await self.open(location, **options)
        try:
            yield storage
        finally:
            try:
                await self.close(storage)
            finally:
                await self._wipe(location)

    async def _wipe(self, location: str) -> None:
        if self.backend == "sqlite":
            path = self.path(location)
            for suffix in ("", "-wal", "-shm", "-journal"):
                with suppress(FileNotFoundError):
                    path.with_name(path.name + suffix).unlink()
            return
        namespace = self._namespaces.pop(location, None)
        if namespace is None:
            return
        if self._redis is None:
            assert self._redis_url is not None
            self._redis = aioredis.Redis.from_url(self._redis_url, socket_timeout=5)
        batch: list[bytes] = []
        # Hash-tagged keys may wrap the namespace in braces, so match it anywhere in the key.
        async for key in self._redis.scan_iter(match=f"*{namespace}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                await self._redis.unlink(*batch)
                batch.clear()
        if batch:
            await self._redis.unlink(*batch)

    async def _close_all(self) -> None:
        # One failing aclose() must not leave the other handles open.
        if not self._handles:
            return
        try:
            await self.close(self._handles[-1])
        finally:
            await self._close_all()

    async def aclose(self) -> None:
        try:
            await self._close_all()
        finally:
            try:
                for location in list(self._namespaces):
                    await self._wipe(location)
            finally:
                if self._redis is not None:
                    await self._redis.aclose()


@pytest.fixture
async def storage_factory(backend: BackendTarget, tmp_path: Path) -> AsyncIterator[StorageFactory]:
    factory = StorageFactory(backend, tmp_path)
    try:
        yield factory
    finally:
        await factory.aclose()


@pytest.fixture
async def storage(storage_factory: StorageFactory) -> Storage:
    """A fresh, empty store of the parametrized backend (closed and wiped by ``storage_factory``)."""
    return await storage_factory.open()
