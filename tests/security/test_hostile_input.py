"""Hostile input: nothing a caller sends may escape a query template, crash the gateway or be stored.

Every string input of the committed OpenAPI document (path and query parameters, and the string
properties of JSON bodies) gets ``where``-predicate escapes (``x" or id is defined or
orderNumber="`` and friends) and Hypothesis text that always carries a quote, a backslash or a
control character among parentheses, unicode and more quotes: each must be refused with a 4xx
problem+json before anything is sent to commercetools (requests to ``/oauth/token`` aside). Then
oversized values (10 kB), out-of-range and wrong-typed integers, unknown query parameters (ignored
or 4xx, never 5xx, and never changing what is asked upstream), a 2 MB body, malformed JSON and
unknown body fields (4xx, never 5xx, nothing stored).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient

from app.access import SCOPES
from app.sandbox.commercetools.seed import DEMO_ORDER_NUMBER
from tests.security.harness import (
    PROBLEM_JSON,
    Operation,
    happy_request,
    iter_string_inputs,
    operations,
    sample_values,
    sandbox_state,
    tally,
    upstream_calls,
)
from tests.support import auth

ADMIN = auth(scopes=SCOPES, stores=("*",))
ESCAPES = (
    'x" or id is defined or orderNumber="',
    '") or (1 = 1',
    '\\" or true or \\"',
    'DE-100001" or customerEmail is defined or "',
    "x\u0000y",
)
_TEXT = st.text(alphabet=st.one_of(st.sampled_from("\"'()\\=<>*%;:,[]{}"), st.characters(codec="utf-8")), max_size=40)
_BREAKER = st.sampled_from(['"', "\\", "\x00", "\n", "\r", "\t", "\x1b", "\x7f"])
HOSTILE_TEXT = st.builds(lambda head, breaker, tail: head + breaker + tail, _TEXT, _BREAKER, _TEXT)
"""Text that is never a valid value of any parameter: a quote, a backslash or a control character."""

# Operation and input whose hostile values are a known bug, with the reason (empty: none known).
ESCAPE_BUGS: dict[tuple[str, str], str] = {}


def _inputs(known_bugs: dict[tuple[str, str], str] | None = None) -> list[Any]:
    params = []
    for operation in operations():
        for location, name in iter_string_inputs(operation):
            bug = (known_bugs or {}).get((operation.operation_id, name))
            marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=bug)] if bug else []
            params.append(pytest.param(operation, location, name, marks=marks, id=f"{operation.label} {name}"))
    return params


def _with_value(operation: Operation, location: str, name: str, value: str) -> tuple[str, dict[str, str], Any]:
    """The operation's request with ``value`` in one input, and only the other inputs it requires."""
    samples = sample_values()
    path_values = {
        p.name: quote(samples.get(p.name, "1"), safe="") for p in operation.parameters if p.location == "path"
    }
    params = {p.name: samples.get(p.name, "1") for p in operation.parameters if p.location == "query" and p.required}
    body = happy_request(operation).body
    if location == "path":
        path_values[name] = quote(value, safe="")
    elif location == "query":
        params[name] = value
    else:
        body = {} if name in ("orderId", "orderNumber") else dict(body or {})
        body[name] = value
    return operation.url(path_values), params, body


def _refused(response: httpx.Response, upstream: list[str], what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text[:300]}"
    assert response.headers.get("content-type", "").startswith(PROBLEM_JSON), f"{what}: {response.headers}"
    assert response.json()["status"] == response.status_code
    assert upstream == [], f"{what}: reached commercetools: {upstream}"


@pytest.mark.parametrize(("operation", "location", "name"), _inputs(ESCAPE_BUGS))
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(value=HOSTILE_TEXT)
@example(value=ESCAPES[0])
@example(value=ESCAPES[1])
@example(value=ESCAPES[2])
@example(value=ESCAPES[3])
@example(value=ESCAPES[4])
def test_predicate_escapes_are_refused_before_commercetools(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, operation: Operation, location: str, name: str, value: str
) -> None:
    url, params, body = _with_value(operation, location, name, value)
    state = sandbox_state(ct_sandbox)
    state.reset()
    response = gateway.request(operation.method, url, params=params, json=body, headers=ADMIN)
    tally("hostile strings sent")
    _refused(response, upstream_calls(state), f"{operation.label} {name}={value!r}")


@pytest.mark.parametrize(("operation", "location", "name"), _inputs())
def test_oversized_values_are_refused_before_commercetools(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, operation: Operation, location: str, name: str
) -> None:
    state = sandbox_state(ct_sandbox)
    for value in ("A" * 10_240, "1" * 10_240, "ä" * 5_120):
        url, params, body = _with_value(operation, location, name, value)
        state.reset()
        response = gateway.request(operation.method, url, params=params, json=body, headers=ADMIN)
        tally("oversized values sent")
        _refused(response, upstream_calls(state), f"{operation.label} {name}=<{len(value)} chars>")


def _integer_inputs() -> list[Any]:
    return [
        pytest.param(operation, p.name, id=f"{operation.label} {p.name}")
        for operation in operations()
        for p in operation.parameters
        if p.location == "query" and p.schema.get("type") == "integer"
    ]


@pytest.mark.parametrize(("operation", "name"), _integer_inputs())
@pytest.mark.parametrize("value", ["100000", "-1", "0", "abc", "1.5", "", "9" * 400, "1e3", "0x10", "NaN"])
def test_out_of_range_and_wrong_typed_integers_are_refused(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, operation: Operation, name: str, value: str
) -> None:
    request = happy_request(operation)
    state = sandbox_state(ct_sandbox)
    state.reset()
    response = gateway.request(
        operation.method, request.url, params={**request.params, name: value}, json=request.body, headers=ADMIN
    )
    _refused(response, upstream_calls(state), f"{operation.label} {name}={value!r}")


REFUSALS = frozenset({400, 413, 414, 422, 431})
UNKNOWN_QUERY = {
    "where": 'id is defined or orderNumber="x"',
    "var.emails": "victim@example.com",
    "expand": "customer",
    "sort": "createdAt asc",
    "offset": "20000",
    "withTotal": "true",
    "storeKey": "us-store",
    "stores": "*",
    "scope": "pii:read",
    "x" * 200: "y" * 10_240,
}


@pytest.mark.parametrize("operation", operations(), ids=lambda operation: operation.label)
def test_unknown_query_parameters_never_change_the_answer_or_what_is_asked_upstream(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, operation: Operation
) -> None:
    request = happy_request(operation)
    state = sandbox_state(ct_sandbox)
    answers = []
    for extra in ({}, UNKNOWN_QUERY):
        state.reset()
        # no-cache: the second read would otherwise be answered from the view cache, asking nothing.
        response = gateway.request(
            operation.method,
            request.url,
            params={**request.params, **extra},
            json=request.body,
            headers={**ADMIN, "Cache-Control": "no-cache"},
        )
        sent = sorted((r.method, r.path, tuple(r.query)) for r in state.requests if r.path != "/oauth/token")
        answers.append((response, sent))
    (plain, asked), (junk, asked_with_junk) = answers
    assert junk.status_code < 500, f"{operation.label} with unknown parameters: {junk.status_code} {junk.text[:300]}"
    if junk.status_code in REFUSALS and junk.status_code != plain.status_code:
        # Refused because of the unknown parameters: allowed, as long as nothing went upstream.
        assert junk.headers.get("content-type", "").startswith(PROBLEM_JSON)
        assert asked_with_junk == [], f"{operation.label}: refused, yet asked commercetools {asked_with_junk}"
        return
    if operation.method == "GET":  # writes answer differently the second time (201, then 200; 204, then 404)
        assert junk.status_code == plain.status_code, f"{operation.label}: {plain.status_code} -> {junk.status_code}"
    assert asked_with_junk == asked, f"{operation.label}: unknown parameters changed the upstream requests"


# -- request bodies of PUT /v1/links/{ticketId} ------------------------------------------------------

TWO_MB = 2 * 1024 * 1024


def _put_raw(gateway: TestClient[Litestar], ticket: str, content: bytes) -> httpx.Response:
    headers = {**ADMIN, "Content-Type": "application/json"}
    return gateway.put(f"/v1/links/{ticket}", content=content, headers=headers)


def _nothing_stored(gateway: TestClient[Litestar], ticket: str) -> None:
    stored = gateway.get(f"/v1/links/{ticket}", headers=ADMIN)
    assert stored.status_code == 404, f"link {ticket} was stored: {stored.text[:200]}"


def _bad_body(case: str, content: bytes, bug: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError, reason=bug)] if bug else []
    return pytest.param(content, id=case, marks=marks)


VALID = b'{"orderNumber": "' + DEMO_ORDER_NUMBER.encode() + b'"}'
BAD_BODIES = [
    _bad_body("2 MB of JSON whitespace around a valid link", VALID[:-1] + b" " * TWO_MB + b"}"),
    _bad_body("2 MB string in an unknown field", VALID[:-1] + b', "note": "' + b"x" * TWO_MB + b'"}'),
    _bad_body("2 MB processId", VALID[:-1] + b', "processId": "' + b"1" * TWO_MB + b'"}'),
    _bad_body("2 MB array in an unknown field", VALID[:-1] + b', "ids": [' + b"1," * (TWO_MB // 2) + b"1]}"),
    _bad_body("100 000 nested arrays (200 kB)", b"[" * 100_000 + b"]" * 100_000),
    _bad_body("3 000 nested arrays (6 kB)", b"[" * 3_000 + b"]" * 3_000),
    _bad_body("truncated", VALID[:-3]),
    _bad_body("trailing garbage", VALID + b"}{"),
    _bad_body("invalid UTF-8 body", b"\xff\xfe"),
    _bad_body("invalid UTF-8 in a string", b'{"orderNumber": "\xff\xfe"}'),
    _bad_body("empty", b""),
    _bad_body("null", b"null"),
    _bad_body("array", b'["' + DEMO_ORDER_NUMBER.encode() + b'"]'),
    _bad_body("string", b'"' + DEMO_ORDER_NUMBER.encode() + b'"'),
    _bad_body("NaN", b'{"orderNumber": NaN}'),
    _bad_body("single quotes", b"{'orderNumber': '" + DEMO_ORDER_NUMBER.encode() + b"'}"),
    _bad_body("number instead of string", b'{"orderNumber": 100001}'),
    _bad_body("list instead of string", b'{"orderNumber": ["' + DEMO_ORDER_NUMBER.encode() + b'"]}'),
    _bad_body("operator object instead of string", b'{"orderNumber": {"$ne": ""}}'),
    _bad_body("boolean instead of string", b'{"orderNumber": true}'),
]


@pytest.mark.parametrize("content", BAD_BODIES)
def test_bad_link_bodies_are_refused_and_store_nothing(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, content: bytes
) -> None:
    state = sandbox_state(ct_sandbox)
    state.reset()
    response = _put_raw(gateway, "8100", content)
    _refused(response, upstream_calls(state), f"PUT /v1/links/8100 with {len(content)} bytes")
    _nothing_stored(gateway, "8100")


@pytest.mark.parametrize(
    "field",
    ["store", "linkedBy", "linkedAt", "version", "source", "kind", "reference", "colour", "OrderNumber", "order_nr"],
)
def test_unknown_link_fields_are_refused_and_store_nothing(
    gateway: TestClient[Litestar], ct_sandbox: Litestar, field: str
) -> None:
    """Mass assignment: a caller cannot set what the gateway decides (store, author, version, …)."""
    state = sandbox_state(ct_sandbox)
    state.reset()
    response = gateway.put("/v1/links/8200", json={"orderNumber": DEMO_ORDER_NUMBER, field: "us-store"}, headers=ADMIN)
    _refused(response, upstream_calls(state), f"PUT /v1/links/8200 with {field!r}")
    _nothing_stored(gateway, "8200")
