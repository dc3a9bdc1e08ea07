"""The committed OpenAPI document is exactly what the app serves."""

from __future__ import annotations

import json

from litestar.testing import AsyncTestClient

from app.asgi import create_app
from app.openapi import render_openapi, schema_settings
from tests.support import REPO

COMMITTED = REPO / "openapi" / "openapi.json"


async def test_committed_openapi_matches_the_served_document() -> None:
    async with AsyncTestClient(create_app(schema_settings())) as client:
        served = (await client.get("/schema/openapi.json")).json()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == served, "openapi/openapi.json is stale: run `ctnm openapi` and commit it"


def test_committed_openapi_is_rendered_byte_for_byte() -> None:
    assert COMMITTED.read_bytes() == render_openapi(), "run `ctnm openapi` and commit openapi/openapi.json"


def test_every_operation_has_an_id_and_problem_responses_are_documented() -> None:
    document = json.loads(render_openapi())
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("operationId"), f"{method.upper()} {path} has no operationId"
