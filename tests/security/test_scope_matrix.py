"""Every operation of the committed OpenAPI document × every scope combination that matters.

Per operation (taken from ``openapi/openapi.json``, so a new endpoint is covered automatically):

- no token, or a token that is not a JWT → 401 problem+json with ``WWW-Authenticate: Bearer``;
- a valid token with no scope, with any single scope, or with all declared scopes but one → 403
  problem+json whenever a declared scope is missing;
- a token missing a declared scope but with query parameters and headers that try to add it → 403
  (parameters and headers never widen a token);
- the declared scopes exactly, and every scope → neither 401 nor 403;
- 401 and 403 never cost an upstream call.

The scopes an operation needs come from ``CONTRACT``, a table written by hand from the README's
HTTP API section, never from the handlers: a route that declares the wrong scope would otherwise be
its own expectation. Every route of the real app must be in the table and declare exactly what it
says; the document's ``security`` must agree with the route being public. The number of cells is
printed in the terminal summary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import httpx
import pytest
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.testing import TestClient

from app.sandbox.commercetools import SandboxState
from tests.security.harness import (
    ALL_SCOPES,
    PROBLEM_JSON,
    Operation,
    declared_scopes,
    happy_request,
    operations,
    tally,
    upstream_calls,
)
from tests.support import token

# Authenticated by GATEWAY_EVENTS_SECRET or an OIDC token of the push service, never by a caller token.
SENDER_OPERATIONS = frozenset({"ReceiveCommercetoolsEvent"})

PUBLIC = None
CONTRACT: dict[str, tuple[str, ...] | None] = {
    # operationId -> every scope the caller needs (all of them), or PUBLIC. From the README, by hand.
    "GetOrder": ("orders:read",),
    "ListOrders": ("orders:read",),
    "GetCustomer": ("customers:read", "orders:read"),
    "RevealOrderField": ("orders:read", "pii:read"),
    "RevealCustomerField": ("customers:read", "orders:read", "pii:read"),
    "FindCustomers": ("customers:read", "orders:read"),
    "Lookup": ("customers:read", "orders:read"),
    "PatchCustomer": ("customers:write",),
    "GetOwnership": ("customers:read",),
    "PutLink": ("links:write",),
    "GetLink": ("orders:read",),
    "DeleteLink": ("links:write",),
    "FindLinks": ("orders:read",),
    "ListTicketPushes": ("orders:read",),
    "QueryAudit": ("audit:read",),
    "ListDeadLetters": ("push:admin",),
    "GetDeadLetter": ("push:admin",),
    "ReplayDeadLetter": ("push:admin",),
    # No caller scope: the sender's own credentials (SENDER_OPERATIONS).
    "ReceiveCommercetoolsEvent": (),
    "GetHealth": PUBLIC,
    "GetReadiness": PUBLIC,
    "GetProblemTypes": PUBLIC,
}
PUBLIC_WITHOUT_OPERATION_ID = frozenset(
    # Litestar's schema routes carry no operationId; they are public.
    {
        "GET /schema",
        "GET /schema/swagger",
        "GET /schema/openapi.json",
        "GET /schema/oauth2-redirect.html",
        "GET /schema/{path:str}",
        # Swagger UI's files, served from the package so the API browser works offline.
        "GET /schema/assets/{file_path:path}",
        "HEAD /schema/assets/{file_path:path}",
        # The agent widget: the page checks its own signed link, the token route the page's widget
        # token (tests/widget); neither takes a caller token, and the static files hold no data.
        "GET /widget",
        "POST /widget/token",
        # Under a path naming their content (app/widget/pages.py: asset_version), shown as {version}.
        "GET /widget/static/{version}/{file_path:path}",
        "HEAD /widget/static/{version}/{file_path:path}",
    }
)


class Cell:
    def __init__(self, name: str, headers: dict[str, str], params: dict[str, str], expected: str) -> None:
        self.name = name
        self.headers = headers
        self.params = params
        self.expected = expected  # "401" | "403" | "allowed"


def _bearer(scopes: Iterable[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(scopes=scopes, stores=('*',), subject='scope-matrix')}"}


def cells(declared: tuple[str, ...] | None, *, sender_only: bool = False) -> list[Cell]:
    """The scope combinations for one operation; ``declared`` None means a public operation.

    ``sender_only``: the operation takes commercetools' event-sender credentials, never a caller
    token, so every caller token (whatever its scopes) must be 401.
    """
    needed = set(declared or ())
    if sender_only:
        callers = [_bearer(()), *(_bearer((scope,)) for scope in ALL_SCOPES), _bearer(ALL_SCOPES)]
        return [
            Cell("no token", {}, {}, "401"),
            Cell("not a JWT", {"Authorization": "Bearer not-a-jwt"}, {}, "401"),
            *(Cell(f"caller token #{i}", headers, {}, "401") for i, headers in enumerate(callers)),
        ]

    def expect(scopes: Iterable[str]) -> str:
        return "allowed" if needed <= set(scopes) else "403"

    unauthenticated = "allowed" if declared is None else "401"
    result = [
        Cell("no token", {}, {}, unauthenticated),
        Cell("not a JWT", {"Authorization": "Bearer not-a-jwt"}, {}, unauthenticated),
        Cell("basic auth", {"Authorization": "Basic c2NvcGU6bWF0cml4"}, {}, unauthenticated),
        Cell("no scope", _bearer(()), {}, expect(())),
        *(Cell(f"only {scope}", _bearer((scope,)), {}, expect((scope,))) for scope in ALL_SCOPES),
        Cell("declared scopes", _bearer(needed), {}, "allowed"),
        Cell("every scope", _bearer(ALL_SCOPES), {}, "allowed"),
    ]
    for missing in sorted(needed):
        rest = [s for s in ALL_SCOPES if s != missing]
        result.append(Cell(f"every scope but {missing}", _bearer(rest), {}, "403"))
        widened = {**_bearer(rest), "X-Scope": missing, "X-Scopes": " ".join(ALL_SCOPES), "Scope": missing}
        params = {"scope": missing, "scopes": missing, "stores": "*"}
        result.append(Cell(f"every scope but {missing}, widened by headers/params", widened, params, "403"))
    return result


@pytest.fixture(scope="module")
def scopes_by_operation() -> dict[str, tuple[str, ...] | None]:
    return CONTRACT


def _routes(app: Litestar) -> Iterable[tuple[str, HTTPRouteHandler]]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            if isinstance(handler, HTTPRouteHandler):
                yield route.path, handler


def _as_set(scopes: tuple[str, ...] | None) -> frozenset[str] | None:
    return None if scopes is None else frozenset(scopes)


def test_every_route_declares_exactly_the_scopes_of_the_contract(gateway: TestClient[Litestar]) -> None:
    assert isinstance(gateway.app, Litestar)
    declared = declared_scopes(gateway.app)
    wrong = [
        f"{operation_id}: the route declares {declared[operation_id]}, the contract says {CONTRACT[operation_id]}"
        for operation_id in sorted(CONTRACT.keys() & declared.keys())
        if _as_set(declared[operation_id]) != _as_set(CONTRACT[operation_id])
    ]
    unknown = sorted(declared.keys() - CONTRACT.keys())
    gone = sorted(CONTRACT.keys() - declared.keys())
    assert not wrong, "\n".join(wrong)
    assert not unknown, f"routes missing from the test's CONTRACT table: {unknown}"
    assert not gone, f"operations of the CONTRACT table that no route serves: {gone}"
    for operation_id in SENDER_OPERATIONS:
        [handler] = [h for _, h in _routes(gateway.app) if h.operation_id == operation_id]
        assert handler.opt.get("sender") is True, f"{operation_id} must take the sender's credentials"


def test_every_route_without_an_operation_id_is_public_or_litestars_preflight(gateway: TestClient[Litestar]) -> None:
    assert isinstance(gateway.app, Litestar)
    seen: set[str] = set()
    for path, handler in _routes(gateway.app):
        if isinstance(handler.operation_id, str):
            continue
        methods = set(handler.http_methods)
        if methods == {"OPTIONS"}:
            continue  # Litestar's automatic answer to a preflight: no data behind it
        for method in sorted(methods):
            label = f"{method} {re.sub(r'^/widget/static/[0-9a-f]{16}/', '/widget/static/{version}/', path)}"
            assert label in PUBLIC_WITHOUT_OPERATION_ID, f"{label}: no operationId and not in the test's table"
            assert handler.opt.get("public") is True, f"{label} is in the table as public but is not"
            seen.add(label)
    assert seen == PUBLIC_WITHOUT_OPERATION_ID


@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        # The routes a wrong declaration would expose most: named one by one, not only through the matrix.
        ("DELETE", "/v1/links/T-1", ("links:write",), ("orders:read", "customers:read", "push:admin")),
        ("GET", "/v1/audit", ("audit:read",), ("orders:read", "pii:read", "push:admin")),
        ("GET", "/v1/dead-letters", ("push:admin",), ("orders:read", "audit:read", "links:write")),
        ("GET", "/v1/dead-letters/1-0", ("push:admin",), ("orders:read", "audit:read", "links:write")),
        ("POST", "/v1/dead-letters/1-0/replay", ("push:admin",), ("orders:read", "audit:read", "links:write")),
    ],
)
def test_sensitive_routes_answer_403_to_every_other_scope(
    method: str, path: str, allowed: tuple[str, ...], refused: tuple[str, ...], gateway: TestClient[Litestar]
) -> None:
    for scope in refused:
        response = gateway.request(method, path, headers=_bearer((scope,)))
        assert response.status_code == 403, f"{method} {path} with only {scope}: {response.status_code}"
    response = gateway.request(method, path, headers=_bearer(allowed))
    assert response.status_code not in (401, 403), f"{method} {path} with {allowed}: {response.status_code}"


def _check(cell: Cell, response: httpx.Response, upstream: list[str]) -> str | None:
    """What is wrong with this cell's answer, or None."""
    status = response.status_code
    if cell.expected == "allowed":
        return f"answered {status}" if status in (401, 403) else None
    if str(status) != cell.expected:
        return f"answered {status}, expected {cell.expected}"
    problems = []
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        problems.append(f"content-type {response.headers.get('content-type')!r}")
    elif response.json().get("status") != status:
        problems.append("problem body status differs")
    if status == 401 and not response.headers.get("www-authenticate", "").startswith("Bearer"):
        problems.append("no WWW-Authenticate: Bearer")
    if upstream:
        problems.append(f"upstream called: {upstream}")
    return "; ".join(problems) or None


def test_document_and_handlers_agree_on_what_is_public(
    scopes_by_operation: dict[str, tuple[str, ...] | None],
) -> None:
    for operation in operations():
        assert operation.operation_id in scopes_by_operation, f"{operation.label}: no handler with this operationId"
        public = scopes_by_operation[operation.operation_id] is None
        assert operation.secured != public, (
            f"{operation.label}: the document says secured={operation.secured}, the handler says public={public}"
        )


@pytest.mark.parametrize("operation", operations(), ids=lambda operation: operation.label)
def test_scope_matrix(
    operation: Operation,
    gateway: TestClient[Litestar],
    ct: SandboxState,
    scopes_by_operation: dict[str, tuple[str, ...] | None],
    record_property: Callable[[str, object], None],
) -> None:
    declared = scopes_by_operation[operation.operation_id]
    request = happy_request(operation)
    failures = []
    matrix = cells(declared, sender_only=operation.operation_id in SENDER_OPERATIONS)
    for cell in matrix:
        ct.reset()
        kwargs = request.send_kwargs()
        kwargs["params"] = {**kwargs["params"], **cell.params}
        response = gateway.request(request.method, request.url, headers=cell.headers, **kwargs)
        problem = _check(cell, response, upstream_calls(ct))
        if problem is not None:
            failures.append(f"{cell.name}: {problem}")
    tally("scope matrix cells", len(matrix))
    tally("scope matrix operations")
    record_property("scope_matrix_cells", len(matrix))
    assert not failures, f"{operation.label} (declares {declared}):\n" + "\n".join(failures)
