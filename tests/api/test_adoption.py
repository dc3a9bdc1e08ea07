"""What a client author relies on without reading the code: true access-log lines, problem types
that resolve, plain-word errors, strict query parameters, no caching of personal data, and an API
browser that works offline."""

from __future__ import annotations

import ast
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from app.api.problems import PROBLEM_TYPES
from app.asgi import create_app
from app.mapping.loader import load_mappings
from app.mapping.schema import CallerLimits, LimitsFile
from tests.api.test_http_contract import ScriptedCommercetools
from tests.support import MAPPINGS, REPO, auth, settings_for
from tests.unit.fakes import Collector

READ_ALL = ("orders:read", "customers:read")


@pytest.fixture
def ct() -> ScriptedCommercetools:
    return ScriptedCommercetools()


@pytest.fixture
async def client(ct: ScriptedCommercetools) -> AsyncIterator[AsyncTestClient[Litestar]]:
    settings = settings_for("http://ct.test", max_attempts=1, deadline_seconds=2)
    # Rate limits on, one request per caller and hour: each test sends one, the 429 case two.
    limited = msgspec.structs.replace(settings.gateway, rate_limits=True)
    mappings = msgspec.structs.replace(load_mappings(MAPPINGS), limits=LimitsFile(callers=CallerLimits(rate="1/hour")))
    app = create_app(
        msgspec.structs.replace(settings, gateway=limited),
        commercetools_transport=httpx.MockTransport(ct),
        mappings=mappings,
    )
    async with AsyncTestClient(app) as test_client:
        yield test_client


def _problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert body["status"] == status
    assert body["correlationId"] == response.headers["x-correlation-id"]
    return body


async def _refusal(client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, status: int) -> httpx.Response:
    """One request the gateway refuses with ``status``."""
    if status == 401:
        return await client.get("/v1/orders/DE-1")
    if status == 403:
        return await client.get("/v1/audit", headers=auth())
    if status == 404:
        return await client.get("/v1/nothing-here", headers=auth())
    if status == 405:
        return await client.post("/v1/orders/DE-1", headers=auth())
    if status == 413:
        return await client.put(
            "/v1/links/T-1",
            headers={**auth(("links:write",)), "content-type": "application/json"},
            content=b"{" * 70_000,
        )
    if status == 414:
        return await client.get("/v1/orders/DE-1?email=" + "a" * 10_000, headers=auth())
    if status == 422:
        return await client.get("/v1/orders/%00%ff", headers=auth())
    if status == 503:
        ct.answer = lambda _: httpx.Response(503)
        return await client.get("/v1/orders/DE-1", headers=auth())
    if status == 415:
        return await client.patch(
            "/v1/customers/c-1",
            headers={**auth(("customers:write",)), "content-type": "text/plain"},
            content=b"supportNote=x",
        )
    if status == 429:
        await client.get("/v1/orders/DE-1", headers=auth())  # the caller's one request this hour
        return await client.get("/v1/orders/DE-2", headers=auth())
    raise AssertionError(status)


REFUSALS = [401, 403, 404, 405, 413, 414, 415, 422, 429, 503]


@pytest.mark.parametrize("status", REFUSALS)
async def test_the_access_log_line_says_what_the_client_received(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, app_logs: Collector, status: int
) -> None:
    started = time.perf_counter()
    response = await _refusal(client, ct, status)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == status, response.text
    lines = [r for r in app_logs.records if r.name == "app.access"]
    assert len(lines) == (2 if status == 429 else 1)  # 429: the request before it is logged too
    fields = lines[-1].fields  # type: ignore[attr-defined]
    assert fields["status"] == status
    assert 0 < fields["durationMs"] <= elapsed_ms


@pytest.mark.parametrize("status", REFUSALS)
async def test_every_refusal_is_a_documented_problem_in_plain_words(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, status: int
) -> None:
    body = _problem(await _refusal(client, ct, status), status)
    code = str(body["type"]).removeprefix("/problems#")
    assert PROBLEM_TYPES[code].title == body["title"]
    assert PROBLEM_TYPES[code].status == status
    assert not re.search(r"[A-Z][a-z]+[A-Z][a-z]+|Error\b|Exception\b", str(body["title"]) + str(body["detail"]))


async def test_405_names_the_allowed_methods(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete("/v1/orders/DE-1", headers=auth())
    _problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_every_problem_type_resolves_on_the_gateway_and_in_the_docs(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/problems")
    assert page.status_code == 200
    docs = (REPO / "docs" / "http-api.md").read_text()
    for code, kind in PROBLEM_TYPES.items():
        assert f'id="{code}"' in page.text
        assert f"`/problems#{code}`" in docs, code
        assert kind.title in docs
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/problems" in schema["paths"]


@pytest.mark.parametrize(
    ("query", "named", "reason"),
    [
        ("emial=a@example.com", "emial", "is not a parameter of this operation"),
        ("email=a@example.com&foo=bar", "foo", "is not a parameter of this operation"),
        ("email=a@example.com&email=b@example.com", "email", "given more than once"),
    ],
)
async def test_unknown_and_repeated_query_parameters_are_named(
    client: AsyncTestClient[Litestar], ct: ScriptedCommercetools, query: str, named: str, reason: str
) -> None:
    body = _problem(await client.get(f"/v1/orders?{query}", headers=auth()), 422)
    params = body["invalid-params"]
    assert isinstance(params, list)
    assert [p["name"] for p in params] == [named]
    assert reason in params[0]["reason"]
    assert ct.api_calls == []


@pytest.mark.parametrize(
    ("path", "name", "reason"),
    [
        ("/v1/orders?email=not-an-email", "email", "does not have the format"),
        ("/v1/orders?email=a@example.com&limit=0", "limit", "must be at least 1"),
        ("/v1/orders?email=a@example.com&limit=many", "limit", "must be a number"),
        ("/v1/audit?since=yesterday", "since", "ISO 8601"),
    ],
)
async def test_invalid_params_reasons_speak_plainly(
    client: AsyncTestClient[Litestar], path: str, name: str, reason: str
) -> None:
    body = _problem(await client.get(path, headers=auth(("orders:read", "audit:read"))), 422)
    params = body["invalid-params"]
    assert isinstance(params, list)
    assert params[0]["name"] == name
    assert reason in params[0]["reason"]
    assert not re.search(r"regex|\^|\$|`|Expected", params[0]["reason"])


async def test_an_expired_token_is_explained_without_class_names(client: AsyncTestClient[Litestar]) -> None:
    from tests.support import token

    body = _problem(await client.get("/v1/orders/DE-1", headers={"Authorization": f"Bearer {token(ttl=-60)}"}), 401)
    assert "expired" in str(body["detail"])
    assert "Error" not in str(body["detail"])


async def test_personal_data_is_never_cached(client: AsyncTestClient[Litestar]) -> None:
    ok = await client.get("/v1/orders/DE-1", headers=auth())
    assert ok.status_code == 200
    assert ok.headers["cache-control"] == "no-store"
    refused = await client.get("/v1/orders/DE-1")
    assert refused.headers["cache-control"] == "no-store"


async def test_the_api_browser_works_offline(client: AsyncTestClient[Litestar]) -> None:
    page = await client.get("/schema/swagger")
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert urls
    assert all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    # The embedded document's examples hold data URLs (a carrier's tracking page); only what the
    # page would load matters: no stylesheet url(), import or fetch from elsewhere.
    assert not re.search(r"""(?:url|import|fetch)\(\s*["']?(?:https?:)?//""", page.text)
    for url in urls:
        assert (await client.get(url)).status_code == 200, url


@pytest.mark.parametrize("path", ["/schema/redoc", "/schema/elements", "/schema/nothing", "/schema/x.json"])
async def test_unknown_schema_paths_are_problem_404(client: AsyncTestClient[Litestar], path: str) -> None:
    _problem(await client.get(path), 404)


async def test_dead_letter_path_parameter_is_camel_case(client: AsyncTestClient[Litestar]) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/v1/dead-letters/{deadLetterId}" in schema["paths"]
    assert not any("_" in p.split("{")[-1] for p in schema["paths"] if "{" in p)


def test_app_api_never_imports_storage() -> None:
    """README's package table: app/api goes through services; storage is the services' business."""
    offenders = []
    for source in sorted((REPO / "app" / "api").rglob("*.py")):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [
                f"{Path(source).name}: {n}" for n in names if n == "app.storage" or n.startswith("app.storage.")
            ]
    assert offenders == []


def test_every_operation_names_its_scopes_in_security_and_description() -> None:
    import json

    from app.api.security import _declared
    from app.asgi import _CONTROLLERS

    document = json.loads((REPO / "openapi" / "openapi.json").read_text())
    declared = {
        handler.operation_id: _declared(handler.opt.get("scope"))
        for controller in _CONTROLLERS
        for handler in vars(controller).values()
        if hasattr(handler, "operation_id") and handler.opt.get("scope")
    }
    seen = {}
    for item in document["paths"].values():
        for operation in item.values():
            for requirement in operation.get("security", []):
                if "BearerJWT" in requirement:
                    seen[operation["operationId"]] = tuple(requirement["BearerJWT"])
                    for scope in requirement["BearerJWT"]:
                        assert f"`{scope}`" in operation["description"]
    assert seen == declared
    assert all(seen.values())
