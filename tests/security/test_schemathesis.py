"""Schemathesis against the committed OpenAPI document, the gateway called in-process (ASGI).

Two runs over every operation of ``openapi/openapi.json``:

- ``test_full_access``: a token with every scope and ``stores: ["*"]``;
- ``test_out_of_scope``: a token with only ``orders:read`` and limited to ``jp-store``; on top of the
  schema checks, no operation whose declared scopes the token lacks may answer 2xx.

commercetools is the built-in sandbox reached through ``httpx.ASGITransport``; each operation gets
its own gateway (the ASGI lifespan ends with each test item) with a throwaway embedded store, so the
mutating link operations are safe. Generation is stateless and bounded: a fixed seed, no example
database, ``MAX_EXAMPLES`` fuzzed cases per operation (positive and negative), plus explicit
examples that name real seeded data so the success paths are exercised too. The coverage phase is
off: it is not bounded by ``max-examples`` and its deterministic generation alone takes ~30 s here.
The number of cases per run is printed in pytest's terminal summary.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import pytest
import schemathesis
from litestar import Litestar

from app.sandbox.commercetools.seed import (
    CANCELLED_ORDER_NUMBER,
    CH_ORDER_NUMBER,
    DEMO_CUSTOMER_EMAIL,
    DEMO_ORDER_NUMBER,
    DEMO_TICKET_ID,
    GLOBAL_CUSTOMER_EMAIL,
    GUEST_EMAIL,
    GUEST_ORDER_NUMBER,
    HIGH_PRECISION_ORDER_NUMBER,
    JP_ORDER_NUMBER,
    KWD_ORDER_NUMBER,
    RETURNED_ORDER_NUMBER,
    SHARED_EMAIL,
    US_ORDER_NUMBER,
)
from tests.security.harness import (
    ALL_SCOPES,
    SPEC_PATH,
    declared_scopes,
    new_gateway,
    seed_data,
    tally,
)
from tests.support import token

SEED = 20260601
MAX_EXAMPLES = 30
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)
LIMITED_SCOPES = ("orders:read",)
LIMITED_STORES = ("jp-store",)


def _config(bearer: str) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": MAX_EXAMPLES, "mode": "all", "database": "none"},
            "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "auth": {"openapi": {"BearerJWT": {"bearer": bearer}}},
        }
    )


def _examples() -> dict[str, list[dict[str, Any]]]:
    """Requests naming seeded data, per operationId: without them almost every case is a 404."""
    data = seed_data()
    customer = data.demo_customer_id
    phone = data.phone_of(customer)
    global_customer = data.dataset.customers_with_email(GLOBAL_CUSTOMER_EMAIL)[0]["id"]
    orders = (
        DEMO_ORDER_NUMBER,
        GUEST_ORDER_NUMBER,
        RETURNED_ORDER_NUMBER,
        CANCELLED_ORDER_NUMBER,
        HIGH_PRECISION_ORDER_NUMBER,
        US_ORDER_NUMBER,
        JP_ORDER_NUMBER,
        CH_ORDER_NUMBER,
        KWD_ORDER_NUMBER,
    )
    by_phone = [{"query": {"phone": phone, "country": "DE"}}] if phone else []
    return {
        "GetOrder": [{"path_parameters": {"orderNumber": n}} for n in orders],
        "ListOrders": [
            {"query": {"email": DEMO_CUSTOMER_EMAIL}},
            {"query": {"email": SHARED_EMAIL, "limit": 3}},
            {"query": {"email": GUEST_EMAIL}},
            {"query": {"customerId": customer}},
        ],
        "GetCustomer": [{"path_parameters": {"customerId": c}} for c in (customer, global_customer)],
        "FindCustomers": [{"query": {"email": DEMO_CUSTOMER_EMAIL}}, {"query": {"email": SHARED_EMAIL}}, *by_phone],
        "Lookup": [
            {"query": {"email": SHARED_EMAIL}},
            {"query": {"orderNumber": JP_ORDER_NUMBER}},
            {"query": {"ticketId": DEMO_TICKET_ID}},
            {"query": {"contactExternalId": customer, "email": DEMO_CUSTOMER_EMAIL}},
            *by_phone,
        ],
        "FindLinks": [{"query": {"orderNumber": DEMO_ORDER_NUMBER}}, {"query": {"customerId": customer}}],
        "PutLink": [  # 201 (new), then 200 (the same link again), then 201 for a process linked to a customer
            {"path_parameters": {"ticketId": "4711"}, "body": {"orderNumber": JP_ORDER_NUMBER}},
            {"path_parameters": {"ticketId": "4711"}, "body": {"orderNumber": JP_ORDER_NUMBER}},
            {"path_parameters": {"ticketId": "P-7"}, "query": {"kind": "process"}, "body": {"customerId": customer}},
            {"path_parameters": {"ticketId": "4712"}, "body": {"orderNumber": "DE-999999"}},
        ],
        "GetLink": [{"path_parameters": {"ticketId": "4711"}}],
        "DeleteLink": [{"path_parameters": {"ticketId": "4711"}}],
    }


# The OpenAPI-specific parameter, response and security types are beside the point here.
Case = schemathesis.Case[schemathesis.APIOperation[Any, Any, Any, Any]]
TestFunction = TypeVar("TestFunction", bound=Callable[..., None])


def _load(bearer: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_path(SPEC_PATH, config=_config(bearer))
    headers = {"Authorization": f"Bearer {bearer}"}
    examples = _examples()

    @schema.hook
    def before_add_examples(context: schemathesis.HookContext, cases: list[Case]) -> None:
        operation = context.operation
        assert operation is not None
        for example in examples.get(str(operation.definition.raw.get("operationId")), []):
            cases.append(operation.Case(headers=headers, **example))

    return schema


def _each_operation(schema: schemathesis.BaseSchema) -> Callable[[TestFunction], TestFunction]:
    """``schema.parametrize()``, typed: one test item per operation of the document."""
    return cast(Callable[[TestFunction], TestFunction], schema.parametrize())


FULL = _load(token(scopes=ALL_SCOPES, stores=("*",), ttl=3600, subject="schemathesis"))
LIMITED = _load(token(scopes=LIMITED_SCOPES, stores=LIMITED_STORES, ttl=3600, subject="schemathesis-limited"))


@pytest.fixture(scope="module")
def gateway_for(ct_sandbox: Litestar, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Litestar]:
    """One gateway per run and operation: schemathesis ends an app's lifespan after each test item."""
    apps: dict[str, Litestar] = {}

    def get(key: str) -> Litestar:
        if key not in apps:
            apps[key] = new_gateway(ct_sandbox, str(tmp_path_factory.mktemp("schemathesis")))
        return apps[key]

    return get


@pytest.fixture(scope="module")
def scopes_by_operation(gateway_for: Callable[[str], Litestar]) -> dict[str, tuple[str, ...] | None]:
    return declared_scopes(gateway_for("declared scopes"))


def _operation_id(case: Case) -> str:
    return str(case.operation.definition.raw.get("operationId"))


@_each_operation(FULL)
def test_full_access(case: Case, gateway_for: Callable[[str], Litestar]) -> None:
    tally(f"schemathesis cases, full-access token (seed {SEED}, max-examples {MAX_EXAMPLES})")
    case.call_and_validate(app=gateway_for(f"full {case.operation.label}"))


@_each_operation(LIMITED)
def test_out_of_scope(
    case: Case,
    gateway_for: Callable[[str], Litestar],
    scopes_by_operation: dict[str, tuple[str, ...] | None],
) -> None:
    tally(f"schemathesis cases, out-of-scope store-limited token (seed {SEED}, max-examples {MAX_EXAMPLES})")
    response = case.call_and_validate(app=gateway_for(f"limited {case.operation.label}"))
    declared = scopes_by_operation.get(_operation_id(case))
    if declared is not None and not set(declared) <= set(LIMITED_SCOPES):
        assert not 200 <= response.status_code < 300, (
            f"{case.operation.label} answered {response.status_code} to a token without {declared}"
        )
