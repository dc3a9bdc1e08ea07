"""Fixtures for the SQLite backend tests: a fake clock and storages that are always closed."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from app.storage.sqlite_backend import SqliteStorage
from tests.storage.sqlite.helpers import FakeClock

Opener = Callable[..., Awaitable[SqliteStorage]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    # Nested on purpose: open() must create the data directory.
    return tmp_path / "data" / "nested" / "gateway.sqlite3"


@pytest.fixture
async def opener(db_path: Path, clock: FakeClock) -> AsyncIterator[Opener]:
    """Opens storages on ``db_path`` with the fake clock (overridable) and closes them all."""
    handles: list[SqliteStorage] = []

    async def open_storage(path: Path | None = None, **options: Any) -> SqliteStorage:
        options.setdefault("clock", clock)
        storage = await SqliteStorage.open(path or db_path, **options)
        handles.append(storage)
        return storage

    yield open_storage
    for storage in handles:
        await storage.aclose()


@pytest.fixture
async def store(opener: Opener) -> SqliteStorage:
    return await opener()
