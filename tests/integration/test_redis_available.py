"""The suite's Redis is real: later suites (storage, cache, queue) rely on this fixture, never on a fake."""

from __future__ import annotations

import uuid

import pytest
import redis

pytestmark = pytest.mark.integration


def test_redis_fixture_serves_a_real_server(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    key = f"ctnm:test:{uuid.uuid4()}"
    try:
        assert client.set(key, "1", ex=30)
        assert client.get(key) == b"1"
        assert int(client.info("server")["redis_version"].split(".")[0]) >= 6  # Streams + XAUTOCLAIM
    finally:
        client.delete(key)
        client.close()
