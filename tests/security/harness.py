"""Shared pieces of the security suites: the committed OpenAPI document, the gateway wired to an
in-process commercetools sandbox, sample values from the sandbox's seeded data, and a tally of the
figures each suite reports (printed in pytest's terminal summary by this package's conftest).

Everything is derived from the committed ``openapi/openapi.json`` where possible, so a new
operation or parameter is covered without editing these suites.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from app.access import SCOPES
from app.asgi import create_app
from app.sandbox.commercetools import Dataset, SandboxState, create_commercetools_sandbox
from app.sandbox.commercetools.seed import (
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    SHARED_EMAIL,
)
from tests.support import REPO, settings_for

SPEC_PATH = REPO / "openapi" / "openapi.json"
ALL_SCOPES: tuple[str, ...] = tuple(sorted(SCOPES))
HTTP_METHODS = ("get", "put", "post", "patch", "delete", "head", "options")
PROBLEM_JSON = "application/problem+json"
# Host name of the in-process sandbox as the gateway's settings name it; never resolved.
SANDBOX_URL = "http://sandbox.test"

# -- figures to report ----------------------------------------------------------------------------

TALLY: dict[str, int] = {}
"""Figures for the terminal summary, e.g. ``{"scope matrix cells": 143}``; written by the suites."""


def tally(key: str, amount: int = 1) -> None:
    TALLY[key] = TALLY.get(key, 0) + amount


# -- the committed OpenAPI document ---------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # "path" | "query" | "header" | "cookie"
    required: bool
    schema: Mapping[str, Any]

    @property
    def is_string(self) -> bool:
        return _accepts_string(self.schema)


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # template, e.g. /v1/orders/{orderNumber}
    operation_id: str
    parameters: tuple[Parameter, ...]
    secured: bool
    body_schema: Mapping[str, Any] | None = None
    body_required: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, path_values: Mapping[str, str]) -> str:
        url = self.path
        for name, value in path_values.items():
            url = url.replace("{" + name + "}", value)
        assert "{" not in url, f"{self.label}: no value for a path parameter in {url}"
        return url


def _accepts_string(schema: Mapping[str, Any]) -> bool:
    if schema.get("type") == "string":
        return True
    options = [*schema.get("oneOf", ()), *schema.get("anyOf", ())]
    return any(_accepts_string(resolve(option)) for option in options)


@functools.cache
def spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    node: Any = spec()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    resolved: Mapping[str, Any] = node
    return resolved


@functools.cache
def operations() -> tuple[Operation, ...]:
    """Every operation of the committed document, in document order."""
    document = spec()
    global_security = document.get("security", [])
    found: list[Operation] = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = tuple(
                Parameter(p["name"], p["in"], bool(p.get("required", False)), resolve(p.get("schema", {})))
                for p in (resolve(raw) for raw in [*shared, *operation.get("parameters", [])])
            )
            body = operation.get("requestBody")
            body_schema = None
            if body is not None:
                content = body.get("content", {})
                # A merge patch (RFC 7396) is JSON too; the gateway takes it as application/json as well.
                json_content = content.get("application/json") or content.get("application/merge-patch+json")
                assert json_content is not None, f"{method} {path}: only JSON bodies are understood here"
                body_schema = resolve(json_content.get("schema", {}))
            security = operation.get("security", global_security)
            found.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=operation["operationId"],
                    parameters=parameters,
                    secured=any(requirement for requirement in security),
                    body_schema=body_schema,
                    body_required=bool(body and body.get("required", False)),
                )
            )
    assert found, f"{SPEC_PATH} documents no operation"
    return tuple(found)


def declared_scopes(app: Litestar) -> dict[str, tuple[str, ...] | None]:
    """operationId → the scopes its handler declares (all required), or None for a public route.

    The committed document names the bearer scheme but not the scopes, so they are read from the
    handlers (``opt={"scope": ...}``), the one place the access guard reads them.
    """
    declared: dict[str, tuple[str, ...] | None] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if not isinstance(handler, HTTPRouteHandler) or not isinstance(handler.operation_id, str):
                continue
            if handler.opt.get("public"):
                declared[handler.operation_id] = None
                continue
            scope = handler.opt.get("scope")
            scopes = (scope,) if isinstance(scope, str) else tuple(scope or ())
            declared[handler.operation_id] = scopes
    return declared


# -- the gateway and the sandbox ------------------------------------------------------------------


def new_sandbox() -> Litestar:
    return create_commercetools_sandbox()


def sandbox_state(sandbox: Litestar) -> SandboxState:
    state: SandboxState = sandbox.state.sandbox
    return state


def new_gateway(sandbox: Litestar, data_dir: str) -> Litestar:
    """The gateway with commercetools answered in-process by ``sandbox``, storing into ``data_dir``."""
    # Litestar's __call__ is typed narrower than httpx's generic ASGI callable; it is one.
    transport = httpx.ASGITransport(app=sandbox)  # type: ignore[arg-type]
    settings = settings_for(SANDBOX_URL, data_dir=data_dir)
    # Views are cached as in production; a test that must see each read upstream sends no-cache.
    gateway = msgspec.structs.replace(settings.gateway, cache_forced_refreshes_per_minute=600)
    return create_app(msgspec.structs.replace(settings, gateway=gateway), commercetools_transport=transport)


@asynccontextmanager
async def serving(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` started (its lifespan) and called in the test's own event loop: no thread hop per request."""
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client


def upstream_calls(state: SandboxState) -> list[str]:
    """What the sandbox received since its last reset, other than token requests."""
    return [f"{r.method} {r.path}" for r in state.requests if r.path != "/oauth/token"]


# -- seeded data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedData:
    dataset: Dataset

    @property
    def demo_customer_id(self) -> str:
        order = self.dataset.order_by_number(DEMO_ORDER_NUMBER)
        assert order is not None
        customer_id: str = order["customerId"]
        return customer_id

    def orders_in(self, store: str) -> list[dict[str, Any]]:
        return [o for o in self.dataset.orders.values() if (o.get("store") or {}).get("key") == store]

    @property
    def stores(self) -> list[str]:
        return sorted(s["key"] for s in self.dataset.stores.values())

    def phone_of(self, customer_id: str) -> str | None:
        customer = self.dataset.customers[customer_id]
        for address in customer.get("addresses", []):
            for key in ("phone", "mobile"):
                if address.get(key):
                    phone: str = address[key]
                    return phone
        return None


@functools.cache
def seed_data() -> SeedData:
    return SeedData(sandbox_state(new_sandbox()).dataset)


def sample_values() -> dict[str, str]:
    """A value that names something real, per parameter name, for requests meant to get past validation."""
    data = seed_data()
    return {
        "orderNumber": DEMO_ORDER_NUMBER,
        "customerId": data.demo_customer_id,
        "email": DEMO_CUSTOMER_EMAIL,
        "ticketId": "4711",
        "kind": "ticket",
        "contactExternalId": data.demo_customer_id,
        "country": "DE",
        "limit": "5",
    }


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    params: dict[str, str]
    body: dict[str, Any] | None

    def send_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"params": self.params}
        if self.body is not None:
            kwargs["json"] = self.body
        return kwargs


# Query parameters that make these operations reach commercetools (and usually answer 2xx). Any other
# operation (a new one) gets every required parameter with a sample value, or "1".
HAPPY_QUERIES: dict[str, dict[str, str]] = {
    "ListOrders": {"email": DEMO_CUSTOMER_EMAIL},
    "FindCustomers": {"email": DEMO_CUSTOMER_EMAIL},
    "Lookup": {"email": SHARED_EMAIL},
    "FindLinks": {"orderNumber": DEMO_ORDER_NUMBER},
}
HAPPY_BODIES: dict[str, dict[str, Any]] = {
    "PutLink": {"orderNumber": DEMO_ORDER_NUMBER},
    "PatchCustomer": {"custom": {"supportNote": "Prefers e-mail"}},
}


def happy_request(operation: Operation) -> Request:
    """A request of ``operation`` that gets past validation, naming seeded data where it matters."""
    samples = sample_values()
    path_values = {p.name: samples.get(p.name, "1") for p in operation.parameters if p.location == "path"}
    params = {p.name: samples.get(p.name, "1") for p in operation.parameters if p.location == "query" and p.required}
    params.update(HAPPY_QUERIES.get(operation.operation_id, {}))
    body: dict[str, Any] | None = None
    if operation.body_schema is not None:
        body = dict(HAPPY_BODIES.get(operation.operation_id, {}))
    return Request(operation.method, operation.url(path_values), params, body)


def iter_string_inputs(operation: Operation) -> Iterator[tuple[str, str]]:
    """(location, name) of every string input: path/query parameters and top-level body properties."""
    for parameter in operation.parameters:
        if parameter.location in ("path", "query") and parameter.is_string:
            yield parameter.location, parameter.name
    if operation.body_schema is not None:
        for name, schema in operation.body_schema.get("properties", {}).items():
            if _accepts_string(resolve(schema)):
                yield "body", name
