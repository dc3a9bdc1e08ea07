"""A 503 for an upstream that cannot be reached says so in words, not exception class names."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.support import auth, free_port, settings_for


async def test_a_refused_connection_is_a_503_saying_could_not_connect() -> None:
    # A port bound a moment ago and closed again: nothing listens, every connection is refused.
    refused = f"http://127.0.0.1:{free_port()}"
    app = create_app(settings_for(refused, max_attempts=1))
    async with AsyncTestClient(app) as client:
        answer = await client.get("/v1/orders/DE-100001", headers=auth())
    assert answer.status_code == 503
    problem = answer.json()
    assert problem["type"] == "/problems#upstream-unavailable"
    assert "could not connect" in problem["detail"]
    # No CamelCase class names (ConnectError, OSError, ...) anywhere in the body.
    assert not re.search(r"[A-Z][a-z]+(?:Error|Exception|Timeout)\b", answer.text), answer.text


async def test_readiness_with_a_refused_upstream_names_no_class() -> None:
    app = create_app(settings_for(f"http://127.0.0.1:{free_port()}", max_attempts=1))
    async with AsyncTestClient(app) as client:
        answer = await client.get("/readyz")
    # Storage answers, so the gateway still serves cached views and links: degraded, not down.
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"
    reason = answer.json()["checks"]["commercetools"]["reason"]
    assert reason == "commercetools did not answer (no connection or timed out)"
    assert not re.search(r"[A-Z][a-z]+(?:Error|Exception|Timeout)\b", answer.text), answer.text
