"""The sandbox's HTTP surface: the auth server, the read API for the resources the gateway uses (the
Messages API included), and the `/__sandbox/…` control routes, which also make orders and payments
change (and emit messages) on request.

Every resource route goes through the same checks in commercetools' order: bearer token (401), project
key (404), resource and store segment (404), scope (403), then the lookup itself.
"""

from typing import Any, NamedTuple, cast
from urllib.parse import parse_qsl

import msgspec
from litestar import Litestar, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from app.sandbox.commercetools.auth import authorize, raise_for_project
from app.sandbox.commercetools.config import SandboxConfig
from app.sandbox.commercetools.errors import (
    CommercetoolsError,
    endpoint_not_found,
    generic_error,
    invalid_input,
    resource_not_found_by_id,
    resource_not_found_by_key,
)
from app.sandbox.commercetools.faults import Fault
from app.sandbox.commercetools.frontdoor import FrontDoor
from app.sandbox.commercetools.messages import find_resource, simulate
from app.sandbox.commercetools.query import expand, parse_expansions, parse_query, run_query
from app.sandbox.commercetools.resources import RESOURCES, ResourceSpec
from app.sandbox.commercetools.seed import build_dataset
from app.sandbox.commercetools.state import SandboxState
from app.sandbox.commercetools.updates import update_customer

AnyRequest = Request[Any, Any, Any]
JSON = "application/json"


def _sandbox(request: AnyRequest) -> SandboxState:
    return cast(SandboxState, request.app.state.sandbox)


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response[bytes]:
    return Response(content=msgspec.json.encode(body), status_code=status, media_type=JSON, headers=headers)


def _query_pairs(request: AnyRequest) -> list[tuple[str, str]]:
    # Parsed here rather than through Litestar's typed parameters so that repeated `where`/`sort`/
    # `expand`/`var.*` keep their order and bad values get commercetools' error bodies.
    return parse_qsl(request.scope["query_string"].decode("latin-1"), keep_blank_values=True)


# -- auth server -------------------------------------------------------------------------------------


@post("/oauth/token", status_code=200, include_in_schema=False)
async def issue_token(request: AnyRequest) -> Response[bytes]:
    raw = await request.body()
    form = dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    return _json(
        _sandbox(request).tokens.issue(request.headers.get("authorization"), form),
        headers={"Cache-Control": "no-store"},
    )


# -- API -------------------------------------------------------------------------------------------


class _Target(NamedTuple):
    """What a resource route addresses: a kind of resource, project-wide or within one store."""

    spec: ResourceSpec
    store_key: str | None

    def visible(self, resource: dict[str, Any]) -> bool:
        return self.store_key is None or self.spec.in_store is None or self.spec.in_store(resource, self.store_key)


def _resolve(
    request: AnyRequest, project_key: str, resource: str, store_selector: str | None, *, write: bool = False
) -> _Target:
    """Authenticate and authorise, in commercetools' order of checks."""
    sandbox = _sandbox(request)
    token = sandbox.tokens.authenticate(request.headers.get("authorization"))
    raise_for_project(project_key, sandbox.config.project_key)
    spec = RESOURCES.get(resource)
    if spec is None:
        raise endpoint_not_found(request.url.path)
    store_key = None
    if store_selector is not None:
        if spec.in_store is None or not store_selector.startswith("key="):
            raise endpoint_not_found(request.url.path)
        store_key = store_selector.removeprefix("key=")
    authorize(token, project_key, spec.scope, store_key, write=write)
    return _Target(spec, store_key)


def _query(request: AnyRequest, project_key: str, resource: str, store_selector: str | None) -> Response[bytes]:
    target = _resolve(request, project_key, resource, store_selector)
    query = parse_query(_query_pairs(request))
    dataset = _sandbox(request).dataset
    resources = [item for item in dataset.collection(target.spec.type_id).values() if target.visible(item)]
    return _json(run_query(resources, query, dataset.get))


def _get_one(
    request: AnyRequest, project_key: str, resource: str, identifier: str, store_selector: str | None
) -> Response[bytes]:
    target = _resolve(request, project_key, resource, store_selector)
    dataset = _sandbox(request).dataset
    collection = dataset.collection(target.spec.type_id)
    for prefix, field in target.spec.identifiers.items():
        if identifier.startswith(prefix):
            wanted = identifier.removeprefix(prefix)
            found = next((item for item in collection.values() if item.get(field) == wanted), None)
            missing = resource_not_found_by_key(wanted)
            break
    else:
        found = collection.get(identifier)
        missing = resource_not_found_by_id(identifier)
    # A resource of another store answers exactly like a missing one, so stores cannot be probed.
    if found is None or not target.visible(found):
        raise missing
    expansions = parse_expansions(value for name, value in _query_pairs(request) if name == "expand")
    return _json(expand(found, expansions, dataset.get))


@get("/{project_key:str}/{resource:str}", include_in_schema=False)
async def query_resources(request: AnyRequest, project_key: FromPath[str], resource: FromPath[str]) -> Response[bytes]:
    return _query(request, project_key, resource, None)


@get("/{project_key:str}/{resource:str}/{identifier:str}", include_in_schema=False)
async def get_resource(
    request: AnyRequest, project_key: FromPath[str], resource: FromPath[str], identifier: FromPath[str]
) -> Response[bytes]:
    return _get_one(request, project_key, resource, identifier, None)


@get("/{project_key:str}/in-store/{store:str}/{resource:str}", include_in_schema=False)
async def query_resources_in_store(
    request: AnyRequest, project_key: FromPath[str], store: FromPath[str], resource: FromPath[str]
) -> Response[bytes]:
    return _query(request, project_key, resource, store)


@get("/{project_key:str}/in-store/{store:str}/{resource:str}/{identifier:str}", include_in_schema=False)
async def get_resource_in_store(
    request: AnyRequest,
    project_key: FromPath[str],
    store: FromPath[str],
    resource: FromPath[str],
    identifier: FromPath[str],
) -> Response[bytes]:
    return _get_one(request, project_key, resource, identifier, store)


async def _update(
    request: AnyRequest, project_key: str, resource: str, identifier: str, store_selector: str | None
) -> Response[bytes]:
    target = _resolve(request, project_key, resource, store_selector, write=True)
    if target.spec.type_id != "customer":
        raise CommercetoolsError(405, "MethodNotAllowed", "The sandbox updates customers only.")
    sandbox = _sandbox(request)
    customer = find_resource(sandbox.dataset, "customer", identifier, target.spec.identifiers)
    if not target.visible(customer):
        raise resource_not_found_by_id(identifier)
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        raise invalid_input("The body must be JSON: {version, actions}.") from None
    updated = update_customer(sandbox.dataset, sandbox.message_clock, customer, body)
    expansions = parse_expansions(value for name, value in _query_pairs(request) if name == "expand")
    return _json(expand(updated, expansions, sandbox.dataset.get))


@post("/{project_key:str}/{resource:str}/{identifier:str}", status_code=200, include_in_schema=False)
async def update_resource(
    request: AnyRequest, project_key: FromPath[str], resource: FromPath[str], identifier: FromPath[str]
) -> Response[bytes]:
    """Update actions at a version (customers only)."""
    return await _update(request, project_key, resource, identifier, None)


@post(
    "/{project_key:str}/in-store/{store:str}/{resource:str}/{identifier:str}", status_code=200, include_in_schema=False
)
async def update_resource_in_store(
    request: AnyRequest,
    project_key: FromPath[str],
    store: FromPath[str],
    resource: FromPath[str],
    identifier: FromPath[str],
) -> Response[bytes]:
    return await _update(request, project_key, resource, identifier, store)


# -- control routes ----------------------------------------------------------------------------------


@post("/__sandbox/faults", status_code=201, include_in_schema=False)
async def inject_fault(request: AnyRequest) -> Response[bytes]:
    try:
        fault = msgspec.json.decode(await request.body(), type=Fault)
    except msgspec.DecodeError as error:
        raise invalid_input(f"Invalid fault: {error}") from None
    _sandbox(request).faults.inject(fault)
    return _json(fault, status=201)


@get("/__sandbox/faults", include_in_schema=False)
async def list_faults(request: AnyRequest) -> Response[bytes]:
    return _json(_sandbox(request).faults.armed)


@delete("/__sandbox/faults", status_code=204, include_in_schema=False)
async def clear_faults(request: AnyRequest) -> None:
    _sandbox(request).faults.clear()


@get("/__sandbox/requests", include_in_schema=False)
async def list_requests(request: AnyRequest) -> Response[bytes]:
    return _json(_sandbox(request).requests)


@post("/__sandbox/reset", status_code=204, include_in_schema=False)
async def reset(request: AnyRequest) -> None:
    _sandbox(request).reset()


@post("/__sandbox/expire-tokens", status_code=204, include_in_schema=False)
async def expire_tokens(request: AnyRequest) -> None:
    _sandbox(request).expire_all_tokens()


async def _simulate(request: AnyRequest, resource: str, identifier: str) -> Response[bytes]:
    try:
        body = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        raise invalid_input("The body must be JSON: a list of message payloads.") from None
    sandbox = _sandbox(request)
    spec = RESOURCES[resource]
    target = find_resource(sandbox.dataset, spec.type_id, identifier, spec.identifiers)
    return _json(simulate(sandbox.dataset, sandbox.message_clock, spec.type_id, target, body), status=201)


@post("/__sandbox/orders/{identifier:str}/messages", status_code=201, include_in_schema=False)
async def simulate_order_messages(request: AnyRequest, identifier: FromPath[str]) -> Response[bytes]:
    """Change an order (by id or `order-number=…`) as the payloads say; answer the messages stored."""
    return await _simulate(request, "orders", identifier)


@post("/__sandbox/payments/{identifier:str}/messages", status_code=201, include_in_schema=False)
async def simulate_payment_messages(request: AnyRequest, identifier: FromPath[str]) -> Response[bytes]:
    """Change a payment (by id or `key=…`) as the payloads say; answer the messages stored."""
    return await _simulate(request, "payments", identifier)


# -- errors ----------------------------------------------------------------------------------------


def _error_response(error: CommercetoolsError) -> Response[bytes]:
    return _json(error.body(), status=error.status, headers=error.headers)


def _handle_commercetools_error(_: AnyRequest, error: CommercetoolsError) -> Response[bytes]:
    return _error_response(error)


def _handle_http_exception(request: AnyRequest, error: HTTPException) -> Response[bytes]:
    if error.status_code == 404:
        return _error_response(endpoint_not_found(request.url.path))
    if error.status_code == 405:
        return _error_response(CommercetoolsError(405, "MethodNotAllowed", "Method Not Allowed."))
    return _error_response(generic_error(error.status_code))


def _handle_unexpected(_: AnyRequest, __: Exception) -> Response[bytes]:
    return _error_response(generic_error(500))


def create_commercetools_sandbox(config: SandboxConfig | None = None) -> Litestar:
    """A Litestar app that behaves like commercetools for the gateway; `app.state.sandbox` steers it."""
    config = config or SandboxConfig()
    state = SandboxState(config, build_dataset(config.seed, config.project_key))
    app = Litestar(
        route_handlers=[
            issue_token,
            query_resources,
            get_resource,
            query_resources_in_store,
            get_resource_in_store,
            update_resource,
            update_resource_in_store,
            inject_fault,
            list_faults,
            clear_faults,
            list_requests,
            reset,
            expire_tokens,
            simulate_order_messages,
            simulate_payment_messages,
        ],
        exception_handlers={
            CommercetoolsError: _handle_commercetools_error,
            HTTPException: _handle_http_exception,
            Exception: _handle_unexpected,
        },
        state=State({"sandbox": state}),
        # A fake of an external system has no API of its own to document.
        openapi_config=None,
        # Logging belongs to whoever embeds the sandbox (the demo, a test run), not to the fake.
        logging_config=None,
    )
    app.asgi_handler = FrontDoor(app.asgi_handler, state)
    return app
