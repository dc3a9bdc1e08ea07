"""GET /v1/audit reads `since` and `until` as date-times with an offset: anything else is a 422 naming it
(a bare number was once taken for a Unix time, a naive date-time crashed the embedded store)."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from app.asgi import create_app
from tests.support import auth, settings_for


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["0", "1700000000", "2026-01-15T09:30:00", "2026-01-15"])
async def test_a_bound_that_is_not_a_date_time_with_an_offset_is_422_naming_it(name: str, value: str) -> None:
    async with AsyncTestClient(create_app(settings_for("http://127.0.0.1:9"))) as client:
        answer = await client.get("/v1/audit", params={name: value}, headers=auth(("audit:read",)))
    assert answer.status_code == 422
    [param] = answer.json()["invalid-params"]
    assert param["name"] == name
    assert "time zone" in param["reason"]


async def test_bounds_with_an_offset_are_accepted() -> None:
    async with AsyncTestClient(create_app(settings_for("http://127.0.0.1:9"))) as client:
        answer = await client.get(
            "/v1/audit",
            params={"since": "2026-01-15T09:30:00+01:00", "until": "2026-01-16T00:00:00Z"},
            headers=auth(("audit:read",)),
        )
    assert (answer.status_code, answer.json()) == (200, {"results": [], "next": None})
