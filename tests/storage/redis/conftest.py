"""Fixtures for the Redis backend's own tests (the shared contract suite lives in ``tests/storage``).

Every test gets its own namespace on the session's real Redis (``redis_url``), wiped at teardown;
every handle opened through ``open_redis`` is closed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import pytest

from app.storage.redis_backend import RedisStorage
from tests.storage.redis.support import new_namespace, wipe

OpenRedis: TypeAlias = Callable[..., Awaitable[RedisStorage]]


@pytest.fixture
async def namespace(redis_url: str) -> AsyncIterator[str]:
    name = new_namespace()
    try:
        yield name
    finally:
        await wipe(redis_url, name)


@pytest.fixture
async def open_redis(redis_url: str, namespace: str) -> AsyncIterator[OpenRedis]:
    """Opens handles on this test's namespace (``options`` go to ``RedisStorage.open``)."""
    handles: list[RedisStorage] = []

    async def open_handle(**options: Any) -> RedisStorage:
        # Generous unless a test asks otherwise: a loaded machine must not fail functional tests.
        options.setdefault("operation_timeout", 5.0)
        handle = await RedisStorage.open(redis_url, namespace=namespace, **options)
        handles.append(handle)
        return handle

    try:
        yield open_handle
    finally:
        for handle in handles:
            await handle.aclose()


@pytest.fixture
async def store(open_redis: OpenRedis) -> RedisStorage:
    return await open_redis()
